/**
 * Elementwise ops, defined once (tinygrad's `code_for_op` habit): each entry gives the plain
 * TypeScript reference and the WGSL expression of the same function, so a backend only adds
 * the loop around it. `x`, `a`, `b` are the names the WGSL templates bind.
 */

/**
 * erf by W. J. Cody's rational Chebyshev approximations ("Rational Chebyshev approximations for
 * the error function", Math. Comp. 1969; the CALERF routine), |relative error| < 1e-15.
 */
export function erf(x: number): number {
  const y = Math.abs(x);
  if (y <= 0.46875) {
    const t = y * y;
    let num = ERF_A[4] * t;
    let den = t;
    for (let i = 0; i < 3; i++) {
      num = (num + ERF_A[i]) * t;
      den = (den + ERF_B[i]) * t;
    }
    return (x * (num + ERF_A[3])) / (den + ERF_B[3]);
  }
  const erfc = y <= 4 ? erfcMid(y) : erfcLarge(y);
  return x < 0 ? erfc - 1 : 1 - erfc;
}

export const ERF_A = [3.1611237438705656, 113.864154151050156, 377.485237685302021, 3209.37758913846947, 0.185777706184603153];
export const ERF_B = [23.6012909523441209, 244.024637934444173, 1282.61652607737228, 2844.23683343917062];
export const ERFC_C = [
  0.564188496988670089, 8.88314979438837594, 66.1191906371416295, 298.635138197400131, 881.95222124176909,
  1712.04761263407058, 2051.07837782607147, 1230.33935479799725, 2.15311535474403846e-8,
];
export const ERFC_D = [
  15.7449261107098347, 117.693950891312499, 537.181101862009858, 1621.38957456669019, 3290.79923573345963,
  4362.61909014324716, 3439.36767414372164, 1230.33935480374942,
];
export const ERFC_P = [0.305326634961232344, 0.360344899949804439, 0.125781726111229246, 0.0160837851487422766, 6.58749161529837803e-4, 0.0163153871373020978];
export const ERFC_Q = [2.56852019228982242, 1.87295284992346725, 0.527905102951428412, 0.0605183413124413191, 0.00233520497626869185];

function erfcMid(y: number): number {
  let num = ERFC_C[8] * y;
  let den = y;
  for (let i = 0; i < 7; i++) {
    num = (num + ERFC_C[i]) * y;
    den = (den + ERFC_D[i]) * y;
  }
  return (Math.exp(-y * y) * (num + ERFC_C[7])) / (den + ERFC_D[7]);
}

function erfcLarge(y: number): number {
  if (y >= 6) return 0; // erfc(6) < 2.2e-17: below double resolution around 1.
  const t = 1 / (y * y);
  let num = ERFC_P[5] * t;
  let den = t;
  for (let i = 0; i < 4; i++) {
    num = (num + ERFC_P[i]) * t;
    den = (den + ERFC_Q[i]) * t;
  }
  const r = (t * (num + ERFC_P[4])) / (den + ERFC_Q[4]);
  return (Math.exp(-y * y) * (1 / Math.sqrt(Math.PI) - r)) / y;
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

export interface UnaryOpDef {
  readonly reference: (x: number) => number;
  readonly wgsl: string;
}

export const UNARY_OPS = {
  neg: { reference: (x) => -x, wgsl: '-x' },
  abs: { reference: Math.abs, wgsl: 'abs(x)' },
  exp: { reference: Math.exp, wgsl: 'exp(x)' },
  log: { reference: Math.log, wgsl: 'log(x)' },
  sqrt: { reference: Math.sqrt, wgsl: 'sqrt(x)' },
  rsqrt: { reference: (x) => 1 / Math.sqrt(x), wgsl: 'inverseSqrt(x)' },
  square: { reference: (x) => x * x, wgsl: 'x * x' },
  reciprocal: { reference: (x) => 1 / x, wgsl: '1.0 / x' },
  sin: { reference: Math.sin, wgsl: 'sin(x)' },
  cos: { reference: Math.cos, wgsl: 'cos(x)' },
  tanh: { reference: Math.tanh, wgsl: 'tanh(x)' },
  relu: { reference: (x) => (x > 0 ? x : 0), wgsl: 'max(x, 0.0)' },
  sigmoid: { reference: (x) => 1 / (1 + Math.exp(-x)), wgsl: '1.0 / (1.0 + exp(-x))' },
  // SiLU / swish (Elfwing et al. 2017; Llama's MLP activation): x * sigmoid(x).
  silu: { reference: (x) => x / (1 + Math.exp(-x)), wgsl: 'x / (1.0 + exp(-x))' },
  // GELU, exact form x * Phi(x) (Hendrycks & Gimpel 2016), PyTorch's nn.GELU() default.
  gelu: { reference: (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)), wgsl: '0.5 * x * (1.0 + erf_approx(x * 0.7071067811865476))' },
  // GELU, tanh approximation ("gelu_new" in GPT-2).
  gelu_tanh: {
    reference: (x) => 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))),
    wgsl: '0.5 * x * (1.0 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)))',
  },
  // Derivatives, for reverse-mode autograd (src/autograd): each is d/dx of the op it names.
  // Heaviside step, relu's derivative (0 at x = 0, as PyTorch's relu backward).
  step: { reference: (x) => (x > 0 ? 1 : 0), wgsl: 'select(0.0, 1.0, x > 0.0)' },
  // d/dx x sigmoid(x) = s (1 + x (1 - s)).
  silu_grad: { reference: (x) => siluGrad(x), wgsl: '(1.0 / (1.0 + exp(-x))) * (1.0 + x * (1.0 - 1.0 / (1.0 + exp(-x))))' },
  // d/dx x Phi(x) = Phi(x) + x phi(x).
  gelu_grad: {
    reference: (x) => 0.5 * (1 + erf(x / Math.SQRT2)) + (x * Math.exp(-0.5 * x * x)) / Math.sqrt(2 * Math.PI),
    wgsl: '0.5 * (1.0 + erf_approx(x * 0.7071067811865476)) + x * exp(-0.5 * x * x) * 0.3989422804014327',
  },
  // d/dx 0.5 x (1 + tanh(u)), u = c (x + 0.044715 x^3): 0.5 (1 + t) + 0.5 x (1 - t^2) c (1 + 3 * 0.044715 x^2).
  gelu_tanh_grad: { reference: (x) => geluTanhGrad(x), wgsl: 'gelu_tanh_grad(x)' },
} satisfies Record<string, UnaryOpDef>;

function siluGrad(x: number): number {
  const s = 1 / (1 + Math.exp(-x));
  return s * (1 + x * (1 - s));
}

function geluTanhGrad(x: number): number {
  const t = Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x));
  return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x);
}

export type UnaryOp = keyof typeof UNARY_OPS;

export interface BinaryOpDef {
  readonly reference: (a: number, b: number) => number;
  readonly wgsl: string;
  /** Whether the op is defined on i32 (results truncated back to i32). */
  readonly integer: boolean;
}

export const BINARY_OPS = {
  add: { reference: (a, b) => a + b, wgsl: 'a + b', integer: true },
  sub: { reference: (a, b) => a - b, wgsl: 'a - b', integer: true },
  mul: { reference: (a, b) => a * b, wgsl: 'a * b', integer: true },
  div: { reference: (a, b) => a / b, wgsl: 'a / b', integer: false },
  max: { reference: (a, b) => (a > b || Number.isNaN(a) ? a : b), wgsl: 'max(a, b)', integer: true },
  min: { reference: (a, b) => (a < b || Number.isNaN(a) ? a : b), wgsl: 'min(a, b)', integer: true },
  pow: { reference: Math.pow, wgsl: 'pow(a, b)', integer: false },
} satisfies Record<string, BinaryOpDef>;

export type BinaryOp = keyof typeof BINARY_OPS;

export const REDUCE_OPS = ['sum', 'mean', 'max', 'min'] as const;
export type ReduceOp = (typeof REDUCE_OPS)[number];
