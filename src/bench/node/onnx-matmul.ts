/**
 * The peer of the kernel benchmark: onnxruntime-node's dense MatMul (MLAS, native SIMD) on the
 * same shapes, built as a one-node ONNX graph with the weight as an initializer so ORT can
 * pre-pack it, as it would for a real model. Its CPU binaries ship in the npm package.
 */
import ort from 'onnxruntime-node';
import protobuf from 'protobufjs';

// The subset of onnx.proto (github.com/onnx/onnx, onnx/onnx.proto) a one-node graph needs,
// with the field numbers of the specification.
const onnxRoot = protobuf.Root.fromJSON({
  nested: {
    onnx: {
      nested: {
        ModelProto: {
          fields: {
            irVersion: { type: 'int64', id: 1 },
            producerName: { type: 'string', id: 2 },
            graph: { type: 'GraphProto', id: 7 },
            opsetImport: { rule: 'repeated', type: 'OperatorSetIdProto', id: 8 },
          },
        },
        OperatorSetIdProto: { fields: { domain: { type: 'string', id: 1 }, version: { type: 'int64', id: 2 } } },
        GraphProto: {
          fields: {
            node: { rule: 'repeated', type: 'NodeProto', id: 1 },
            name: { type: 'string', id: 2 },
            initializer: { rule: 'repeated', type: 'TensorProto', id: 5 },
            input: { rule: 'repeated', type: 'ValueInfoProto', id: 11 },
            output: { rule: 'repeated', type: 'ValueInfoProto', id: 12 },
          },
        },
        NodeProto: {
          fields: {
            input: { rule: 'repeated', type: 'string', id: 1 },
            output: { rule: 'repeated', type: 'string', id: 2 },
            name: { type: 'string', id: 3 },
            opType: { type: 'string', id: 4 },
          },
        },
        TensorProto: {
          fields: {
            dims: { rule: 'repeated', type: 'int64', id: 1 },
            dataType: { type: 'int32', id: 2 },
            name: { type: 'string', id: 8 },
            rawData: { type: 'bytes', id: 9 },
          },
        },
        ValueInfoProto: { fields: { name: { type: 'string', id: 1 }, type: { type: 'TypeProto', id: 2 } } },
        TypeProto: { fields: { tensorType: { type: 'TypeProtoTensor', id: 1 } } },
        TypeProtoTensor: { fields: { elemType: { type: 'int32', id: 1 }, shape: { type: 'TensorShapeProto', id: 2 } } },
        TensorShapeProto: { fields: { dim: { rule: 'repeated', type: 'Dimension', id: 1 } } },
        Dimension: { fields: { dimValue: { type: 'int64', id: 1 } } },
      },
    },
  },
});
const ModelProto = onnxRoot.lookupType('onnx.ModelProto');
const FLOAT = 1; // TensorProto.DataType.FLOAT

/** ONNX bytes of y [batch, rows] = x [batch, cols] * Wt, Wt [cols, rows] an initializer. */
export function matmulModelBytes(weightTransposed: Float32Array, rows: number, cols: number, batch: number): Uint8Array {
  const valueInfo = (name: string, dims: number[]) => ({
    name,
    type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => ({ dimValue: d })) } } },
  });
  const model = ModelProto.create({
    irVersion: 8,
    producerName: 'sparsekit-bench',
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'linear',
      node: [{ input: ['x', 'wt'], output: ['y'], name: 'matmul', opType: 'MatMul' }],
      initializer: [{ dims: [cols, rows], dataType: FLOAT, name: 'wt', rawData: new Uint8Array(weightTransposed.buffer, weightTransposed.byteOffset, weightTransposed.byteLength) }],
      input: [valueInfo('x', [batch, cols])],
      output: [valueInfo('y', [batch, rows])],
    },
  });
  return ModelProto.encode(model).finish();
}

export interface OnnxMatmul {
  run(): Promise<Float32Array>;
  release(): Promise<void>;
}

/** An ORT session computing x W^T for W [rows, cols] (row-major, the Linear layout). */
export async function createOnnxMatmul(weight: Float32Array, rows: number, cols: number, x: Float32Array, batch: number, threads: number): Promise<OnnxMatmul> {
  const wt = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) wt[c * rows + r] = weight[r * cols + c];
  const session = await ort.InferenceSession.create(matmulModelBytes(wt, rows, cols, batch), {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionProviders: ['cpu'],
  });
  const input = new ort.Tensor('float32', x, [batch, cols]);
  return {
    async run() {
      const out = await session.run({ x: input });
      return out.y.data as Float32Array;
    },
    release: () => session.release(),
  };
}
