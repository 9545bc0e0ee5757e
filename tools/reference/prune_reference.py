#!/usr/bin/env python3
"""Reference outputs of the authors' Wanda and SparseGPT code on a tiny HF Llama model.

    python3 tools/reference/prune_reference.py --refcode .refcode --model MODEL_DIR \
        --calib CALIB.json --out OUT_DIR [--only KEY[,KEY]] [--hessians] [--attn-implementation eager]

--refcode holds checkouts of github.com/locuslab/wanda (as wanda/) and
github.com/IST-DASLab/sparsegpt (as sparsegpt/). They are carried at run time (git-ignored
.refcode/ in this repository) and never committed; see tools/reference/README.md.

For each setting (wanda-unstructured, wanda-2of4, sparsegpt-unstructured, sparsegpt-2of4) the model
is loaded fresh in float32 (cuda if available, else cpu), every nn.Linear of every decoder layer
(q, k, v, o, gate, up, down) is pruned layer by layer as the authors do, and the script writes

    OUT_DIR/<key>.safetensors             <param name> (f32 pruned weight) and <param name>.mask
                                          (uint8, 1 where weight != 0), e.g.
                                          model.layers.0.self_attn.q_proj.weight(.mask)
    OUT_DIR/<key>.hessians.safetensors    SparseGPT, only with --hessians: <param name>.H, the Hessian
                                          the SparseGPT class accumulated (2/N sum x x^T, f32), taken
                                          just before fasterprune damps/inverts it in place (its
                                          diagonal is always in summary.json)
    OUT_DIR/summary.json                  versions, upstream commits and file hashes, calibration ids,
                                          per-setting parameters, per-tensor sparsity, Wanda's
                                          per-input-feature statistics, checks and problems

Exit status: 0 all fine; 2 outputs written but some check failed or a setting raised (see
summary.json "problems"); 1 could not start (bad arguments, upstream code missing, ...).

What comes from the authors and what is re-implemented here
-------------------------------------------------------------
Used as-is from the upstream checkouts (loaded from --refcode, not copied):
  * wanda/lib/layerwrapper.py: class WrappedGPT (add_batch accumulates scaler_row, the running mean
    over calibration sequences of sum_tokens x_j^2, in float32). Module loaded from its file.
  * wanda/lib/prune.py: functions find_layers and return_given_alpha, and the per-sublayer pruning
    loop of prune_wanda (the `for name in subset:` block: W_metric = |W| * sqrt(scaler_row), the
    N:M topk path, the stable per-row sort of the unstructured path, the use_variant branch, and
    `weight.data[W_mask] = 0`). lib/prune.py cannot be imported: its top level imports lib/data.py,
    which imports `datasets` (absent on the GPU machine and needing the network for C4). So the file
    is parsed with `ast` and exactly those nodes are compiled (with prune.py as their file name, so
    tracebacks show upstream line numbers) and executed; nothing of its text is copied here.
    use_variant is False (default path of main.py).
  * sparsegpt/sparsegpt.py: class SparseGPT (add_batch accumulating H; fasterprune(sparsity,
    prunen, prunem, blocksize=128, percdamp=.01)), imported as a module; its `from quant import *`
    resolves to sparsegpt/quant.py from --refcode.
  * sparsegpt/modelutils.py: find_layers (for the SparseGPT settings).

Re-implemented here (the model-walking code), and why:
  * Upstream's walkers (wanda lib/prune.py prepare_calibration_input + prune_wanda /
    prune_sparsegpt; sparsegpt llama.py llama_sequential) were written for transformers ~4.28-4.36.
    They capture only attention_mask (and position_ids) with a Catcher on layers[0] and call
    `layer(x, attention_mask=..., position_ids=...)[0]`. In transformers >= 4.48 and 5.x a
    LlamaDecoderLayer needs `position_embeddings=(cos, sin)` computed once by LlamaModel (no
    fallback: the attention unpacks it), the mask is built by create_causal_mask (None for sdpa
    without padding, a 4D float tensor for eager), and the layer returns a tensor, not a tuple.
    They also need model.hf_device_map (accelerate's device_map) and a C4 dataloader. llama.py also
    reads a module-global `args`.
  * So this script walks the layers itself, with the same order and semantics:
      1. Calibration: each sequence is run separately (batch 1) through the full model, and a
         forward pre-hook on every decoder layer records that layer's keyword arguments
         (attention_mask, position_ids, position_embeddings, cache_position, ...), i.e. exactly
         what the installed transformers passes; layer 0's positional input is the calibration
         input (upstream's Catcher). As upstream, the keyword arguments of the last sequence are
         reused for all sequences (they are identical: same length, no padding; this is checked).
      2. For decoder layer i = 0..L-1: forward hooks on all its nn.Linear feed the upstream class's
         add_batch(inp[0].data, out.data); every sequence j goes through the still-dense layer i
         (outs[j] = layer(inps[j].unsqueeze(0), **kwargs_i)); hooks removed; every sublayer of
         layer i is pruned (statistics of all 7 sublayers come from that one pass over the dense
         layer, not true-sequential: the default of both repos); then outs[j] is recomputed with
         the pruned layer i and becomes the input of layer i+1 (inps, outs = outs, inps).
  * Checks that the walker reproduces the model (so API drift would show, not silently change
    the reference): before pruning, walking the dense layers and applying norm + lm_head must give
    the model's own logits; after pruning, the walk's final hidden states must give the pruned
    model's logits. Mask structure is checked too (per-row counts for Wanda unstructured, >=2 zeros
    per group of 4 for 2:4, per-128-column-block counts for SparseGPT unstructured), and Wanda must
    leave kept weights bit-identical.
Extra, not upstream: a float64 accumulator of sum_tokens x_j^2 in the same hooks (reported as
x_l2_norm_f64) so the other side can compare its own statistics; it does not touch upstream state.

Precision: float32 throughout, TF32 off (sparsegpt.py also turns it off on import). Wanda's W_metric
is |W_f32| * sqrt(scaler_row_f32), sorted in float32 with torch.sort(stable=True) per row; the N:M
path uses torch.topk(largest=False) on float32 groups (tie order is not specified by torch; the
summary counts exact ties at the selection boundary so a disagreement there can be told apart).
Attention runs with attn_implementation="eager" unless --attn-implementation says otherwise.
"""
import argparse
import ast
import builtins
import contextlib
import datetime
import glob
import hashlib
import importlib.util
import inspect
import io
import json
import math
import os
import platform
import sys
import traceback
import types

# No network on the GPU machine: make every HF library stay offline before it is imported.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SETTINGS = [
    # key (file name stem), method, pattern, sparsity_ratio, prune_n, prune_m
    ("wanda-unstructured", "wanda", "unstructured", 0.5, 0, 0),
    ("wanda-2of4", "wanda", "2:4", 0.5, 2, 4),
    ("sparsegpt-unstructured", "sparsegpt", "unstructured", 0.5, 0, 0),
    ("sparsegpt-2of4", "sparsegpt", "2:4", 0.5, 2, 4),
]
# Upstream defaults (wanda prune_sparsegpt passes these; sparsegpt llama.py's argparse defaults).
PERCDAMP = 0.01
BLOCKSIZE = 128
SEED = 0  # wanda main.py seeds numpy and torch with --seed (default 0); nothing here is random

# The upstream commits this script was written against, and sha256 of the files it uses. A
# different checkout still runs; the mismatch is reported in summary.json "problems".
EXPECTED_UPSTREAM = {
    "wanda": {
        "commit": "8e8fc87b4a2f9955baa7e76e64d5fce7fa8724a6",
        "files": {
            "lib/layerwrapper.py": "5d2d01017407f61052a5adb11d8a9590f52147f9609ad01a141ae61ccbf9edd2",
            "lib/prune.py": "3365c5f098674ad86238dbcd2d4b7f64ef1565af7868c060d027e7934fcb00f4",
        },
    },
    "sparsegpt": {
        "commit": "147d2159dc4f3e9f73e47b32c04d7b3708f44436",
        "files": {
            "sparsegpt.py": "cca2ec0a006f963bc7750ebec8e2320aa2728fb242924cc3f2d5d23fb98530a7",
            "quant.py": "c925dfeba1d4772bc50081a65bccd8dc73338860852d83a7daa80f501c4f7990",
            "modelutils.py": "7968da8845ca958125fbd22f463457f81b3b831c2a553763116ccc5d2b88ecde",
        },
    },
}

LOGIT_ATOL = 1e-4  # walker vs model logits (same kernels, float32: expect ~0)
LOGIT_RTOL = 1e-4

PROBLEMS = []


def problem(msg):
    PROBLEMS.append(msg)
    print(f"[prune_reference] PROBLEM: {msg}", file=sys.stderr, flush=True)


def log(msg):
    print(f"[prune_reference] {msg}", flush=True)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def pkg_version(name):
    try:
        from importlib.metadata import version

        return version(name)
    except Exception as e:  # noqa: BLE001
        return f"unknown ({type(e).__name__})"


# --------------------------------------------------------------------------------------------
# Loading the upstream code
# --------------------------------------------------------------------------------------------


def load_module_from_file(name, path):
    """Import the file at `path` as module `name` (registered in sys.modules)."""
    old = sys.modules.get(name)
    if old is not None:
        old_file = os.path.realpath(getattr(old, "__file__", "") or "")
        if old_file != os.path.realpath(path):
            raise RuntimeError(f"a module named {name!r} is already imported from {old_file!r}; "
                               f"refusing to shadow it with {path!r}")
        return old
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {path}")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    try:
        spec.loader.exec_module(mod)
    except BaseException:
        del sys.modules[name]
        raise
    return mod


def read_revision(folder):
    """Commit of an upstream checkout: REVISION file (first line) written when .refcode was made,
    else `git rev-parse HEAD` if it is a git work tree."""
    rev = None
    p = os.path.join(folder, "REVISION")
    if os.path.isfile(p):
        with open(p) as f:
            rev = f.readline().strip() or None
    if rev is None and os.path.isdir(os.path.join(folder, ".git")):
        try:
            import subprocess

            rev = subprocess.run(["git", "-C", folder, "rev-parse", "HEAD"], capture_output=True,
                                 text=True, timeout=20).stdout.strip() or None
        except Exception:  # noqa: BLE001
            rev = None
    return rev


def describe_upstream(refcode):
    out = {}
    for repo, exp in EXPECTED_UPSTREAM.items():
        folder = os.path.join(refcode, repo)
        rev = read_revision(folder)
        files = {}
        for rel, want in exp["files"].items():
            path = os.path.join(folder, rel)
            got = sha256_file(path) if os.path.isfile(path) else None
            files[rel] = {"sha256": got, "matches_expected": got == want}
            if got != want:
                problem(f"upstream {repo}/{rel}: sha256 {got} differs from the one this script was "
                        f"written against ({want}); results may not be comparable")
        if rev != exp["commit"]:
            problem(f"upstream {repo}: commit {rev} (expected {exp['commit']})")
        out[repo] = {"dir": os.path.realpath(folder), "commit": rev, "expected_commit": exp["commit"],
                     "files": files}
    return out


class Upstream:
    """Handles on the authors' code; see the module docstring for what is used and why."""

    def __init__(self, refcode, torch):
        self.torch = torch
        wanda_dir = os.path.join(refcode, "wanda")
        sg_dir = os.path.join(refcode, "sparsegpt")
        need = [os.path.join(wanda_dir, "lib", "layerwrapper.py"), os.path.join(wanda_dir, "lib", "prune.py"),
                os.path.join(sg_dir, "sparsegpt.py"), os.path.join(sg_dir, "quant.py"),
                os.path.join(sg_dir, "modelutils.py")]
        missing = [p for p in need if not os.path.isfile(p)]
        if missing:
            raise SystemExit(f"--refcode {refcode}: missing upstream files: {missing}")

        # ---- Wanda: WrappedGPT (lib/layerwrapper.py imports only torch). Loaded from its file under
        # a private name rather than as `lib.layerwrapper`, so no other package called `lib` can
        # shadow it.
        self.wanda_layerwrapper = load_module_from_file("wanda_lib_layerwrapper",
                                                        os.path.join(wanda_dir, "lib", "layerwrapper.py"))
        self.WrappedGPT = self.wanda_layerwrapper.WrappedGPT

        # ---- Wanda: pieces of lib/prune.py, compiled from its AST (the module itself imports
        # lib/data.py -> `datasets`, which is absent there).
        self.wanda_prune_path = os.path.realpath(os.path.join(wanda_dir, "lib", "prune.py"))
        self._extract_wanda(self.wanda_prune_path)

        # ---- SparseGPT: sparsegpt.py does `import transformers` and uses transformers.Conv1D in
        # isinstance checks. transformers 5.x still has Conv1D in transformers.pytorch_utils; if the
        # top-level name is gone, alias it (only ever used for isinstance; our layers are nn.Linear).
        import transformers

        has_conv1d = False
        try:
            has_conv1d = getattr(transformers, "Conv1D", None) is not None
        except Exception:  # noqa: BLE001  (lazy-module import errors)
            has_conv1d = False
        self.conv1d_shim = None
        if not has_conv1d:
            try:
                from transformers.pytorch_utils import Conv1D  # type: ignore

                transformers.Conv1D = Conv1D
                self.conv1d_shim = "transformers.Conv1D aliased to transformers.pytorch_utils.Conv1D"
            except Exception:  # noqa: BLE001
                class _NoConv1D:  # never an instance of anything we pass
                    pass

                transformers.Conv1D = _NoConv1D
                self.conv1d_shim = "transformers.Conv1D missing; set to a placeholder class"
            log(self.conv1d_shim)

        # `from quant import *` inside sparsegpt.py must find the checkout's quant.py.
        if sg_dir not in sys.path:
            sys.path.insert(0, os.path.realpath(sg_dir))
        load_module_from_file("quant", os.path.join(sg_dir, "quant.py"))
        self.sparsegpt_module = load_module_from_file("sparsegpt", os.path.join(sg_dir, "sparsegpt.py"))
        self.SparseGPT = self.sparsegpt_module.SparseGPT
        self.sg_modelutils = load_module_from_file("modelutils", os.path.join(sg_dir, "modelutils.py"))
        self.sg_find_layers = self.sg_modelutils.find_layers
        params = inspect.signature(self.SparseGPT.fasterprune).parameters
        if "prunen" in params:
            self.fasterprune_nm_names = ("prunen", "prunem")
        elif "prune_n" in params:
            self.fasterprune_nm_names = ("prune_n", "prune_m")
        else:
            raise SystemExit(f"SparseGPT.fasterprune has no N:M arguments: {list(params)}")

    def _extract_wanda(self, path):
        with open(path, encoding="utf-8") as f:
            src = f.read()
        tree = ast.parse(src, filename=path)
        funcs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
        for fn in ("find_layers", "return_given_alpha", "prune_wanda"):
            if fn not in funcs:
                raise SystemExit(f"{path}: function {fn} not found; not the wanda checkout this script expects")
        torch = self.torch
        ns = {"__builtins__": builtins, "__name__": "wanda_lib_prune_extract", "__file__": path,
              "torch": torch, "nn": torch.nn}
        mod = ast.Module(body=[funcs["find_layers"], funcs["return_given_alpha"]], type_ignores=[])
        exec(compile(mod, path, "exec"), ns)  # noqa: S102  (upstream code, by design)
        self.wanda_globals = ns
        self.wanda_find_layers = ns["find_layers"]
        self.wanda_return_given_alpha = ns["return_given_alpha"]

        def assigns_w_metric(node):
            return any(isinstance(m, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "W_metric"
                                                         for t in m.targets) for m in ast.walk(node))

        loops = [n for n in ast.walk(funcs["prune_wanda"])
                 if isinstance(n, ast.For) and isinstance(n.target, ast.Name) and n.target.id == "name"
                 and isinstance(n.iter, ast.Name) and n.iter.id == "subset" and assigns_w_metric(n)]
        if len(loops) != 1:
            raise SystemExit(f"{path}: expected one `for name in subset:` loop computing W_metric in "
                             f"prune_wanda, found {len(loops)}")
        loop = loops[0]
        loaded = {n.id for n in ast.walk(loop) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        stored = {n.id for n in ast.walk(loop) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        free = loaded - stored - set(dir(builtins))
        provided = {"subset", "wrapped_layers", "args", "prune_n", "prune_m", "i", "torch", "nn",
                    "return_given_alpha"}
        if free - provided:
            raise SystemExit(f"{path}: prune_wanda's pruning loop uses names this script does not "
                             f"provide: {sorted(free - provided)}")
        self.wanda_loop_code = compile(ast.Module(body=[loop], type_ignores=[]), path, "exec")
        segment = ast.get_source_segment(src, loop) or ""
        self.wanda_loop_info = {
            "file": "lib/prune.py", "function": "prune_wanda", "lines": [loop.lineno, loop.end_lineno],
            "sha256_of_source_segment": hashlib.sha256(segment.encode()).hexdigest(),
            "free_names": sorted(free),
            "also_used": ["find_layers", "return_given_alpha (only on the use_variant path)"],
        }

    def run_wanda_pruning_loop(self, subset, wrapped_layers, sparsity_ratio, prune_n, prune_m, layer_index):
        """Execute prune_wanda's own `for name in subset:` block (upstream code) for one layer."""
        args = types.SimpleNamespace(sparsity_ratio=sparsity_ratio, use_variant=False)
        ns = dict(self.wanda_globals)
        ns.update(subset=subset, wrapped_layers=wrapped_layers, args=args, prune_n=prune_n,
                  prune_m=prune_m, i=layer_index, return_given_alpha=self.wanda_return_given_alpha)
        exec(self.wanda_loop_code, ns)  # noqa: S102  (upstream code, by design)


# --------------------------------------------------------------------------------------------
# Model, calibration and the layer walk
# --------------------------------------------------------------------------------------------


def load_calibration(path, vocab_size):
    with open(path) as f:
        data = json.load(f)
    seqs = data.get("sequences") if isinstance(data, dict) else None
    if not isinstance(seqs, list) or not seqs:
        raise SystemExit(f"{path}: expected {{\"sequences\": [[ids], ...]}} with at least one sequence")
    for k, s in enumerate(seqs):
        if not isinstance(s, list) or not s or not all(isinstance(t, int) and not isinstance(t, bool) for t in s):
            raise SystemExit(f"{path}: sequence {k} is not a non-empty list of ints")
        if any(t < 0 or t >= vocab_size for t in s):
            raise SystemExit(f"{path}: sequence {k} has ids outside [0, {vocab_size})")
    lengths = {len(s) for s in seqs}
    if len(lengths) != 1:
        raise SystemExit(f"{path}: all sequences must have the same length (upstream uses fixed "
                         f"model.seqlen windows); got lengths {sorted(lengths)}")
    return seqs, {k: v for k, v in data.items() if k != "sequences"}


def load_model(torch, model_dir, device, attn_impl):
    import transformers

    cls = getattr(transformers, "LlamaForCausalLM")
    kw = dict(attn_implementation=attn_impl, local_files_only=True)
    try:
        model = cls.from_pretrained(model_dir, dtype=torch.float32, **kw)
    except TypeError:
        model = cls.from_pretrained(model_dir, torch_dtype=torch.float32, **kw)
    model = model.to(device=device, dtype=torch.float32)
    model.eval()
    model.config.use_cache = False
    bad = [n for n, p in model.named_parameters() if p.dtype != torch.float32]
    if bad:
        raise RuntimeError(f"parameters not float32 after loading: {bad[:5]}")
    return model


def decoder_layers(model):
    inner = getattr(model, "model", None)
    layers = getattr(inner, "layers", None)
    if layers is None and hasattr(model, "get_decoder"):
        layers = getattr(model.get_decoder(), "layers", None)
    if layers is None:
        raise RuntimeError("cannot find the decoder layers (model.model.layers)")
    return layers


def tensor_tree_equal(torch, a, b):
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.shape == b.shape
                and a.dtype == b.dtype and bool(torch.equal(a, b)))
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(tensor_tree_equal(torch, x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(tensor_tree_equal(torch, a[k], b[k]) for k in a)
    if a is None or b is None or isinstance(a, (bool, int, float, str)):
        return a == b
    return type(a) is type(b)


def describe_value(torch, v):
    if isinstance(v, torch.Tensor):
        return f"Tensor{tuple(v.shape)} {str(v.dtype).replace('torch.', '')}"
    if isinstance(v, (tuple, list)):
        return "(" + ", ".join(describe_value(torch, x) for x in v) + ")"
    if v is None or isinstance(v, (bool, int, float, str)):
        return repr(v)
    return type(v).__name__


def capture_calibration(torch, model, layers, ids):
    """Run each sequence (batch 1) through the model; a forward pre-hook on every decoder layer
    records its keyword arguments; layer 0's positional input is the calibration input (what
    upstream's Catcher stores). Returns inps [N, L, H], per-layer kwargs (of the last sequence, as
    upstream keeps the last), the model's logits [N, L, V] and notes."""
    n, seqlen = ids.shape
    dtype = next(iter(model.parameters())).dtype
    inps = torch.zeros((n, seqlen, model.config.hidden_size), dtype=dtype, device=ids.device)
    per_sample = [[None] * len(layers) for _ in range(n)]
    state = {"j": 0}
    notes = []

    def make_hook(li):
        def hook(module, args, kwargs):
            kwargs = dict(kwargs)
            if args:
                hidden = args[0]
                if len(args) > 1:
                    raise RuntimeError(f"decoder layer {li} called with {len(args)} positional args; "
                                       "only hidden_states positionally is supported")
            else:
                hidden = kwargs.pop("hidden_states")
            if li == 0:
                inps[state["j"]] = hidden[0]
            for k in ("past_key_values", "past_key_value"):
                if kwargs.get(k) is not None:
                    notes.append(f"layer {li}: {k} was a {type(kwargs[k]).__name__}; replaced by None")
                    kwargs[k] = None
            per_sample[state["j"]][li] = {k: (v.detach() if isinstance(v, torch.Tensor) else v)
                                          for k, v in kwargs.items()}
            return None

        return hook

    handles = [layers[li].register_forward_pre_hook(make_hook(li), with_kwargs=True) for li in range(len(layers))]
    logits = []
    try:
        with torch.no_grad():
            for j in range(n):
                state["j"] = j
                out = model(input_ids=ids[j:j + 1], use_cache=False)
                logits.append(out.logits[0].float())
    finally:
        for h in handles:
            h.remove()
    for j in range(n):
        for li in range(len(layers)):
            if per_sample[j][li] is None:
                raise RuntimeError(f"decoder layer {li} was not called for sequence {j}")
    layer_kwargs = per_sample[-1]
    consistent = all(tensor_tree_equal(torch, per_sample[j][li], layer_kwargs[li])
                     for j in range(n) for li in range(len(layers)))
    if not consistent:
        problem("decoder-layer keyword arguments differ between calibration sequences; the last "
                "sequence's are used for all (as upstream does)")
    same_across_layers = all(tensor_tree_equal(torch, layer_kwargs[li], layer_kwargs[0]) for li in range(len(layers)))
    info = {
        "kwargs_passed_to_decoder_layers": {k: describe_value(torch, v) for k, v in layer_kwargs[0].items()},
        "kwargs_identical_across_sequences": consistent,
        "kwargs_identical_across_layers": same_across_layers,
        "attention_mask_is_none": layer_kwargs[0].get("attention_mask") is None,
        "notes": notes,
    }
    return inps, layer_kwargs, torch.stack(logits), info


def layer_forward(torch, layer, x, kwargs):
    """Upstream: outs[j] = layer(inps[j].unsqueeze(0), attention_mask=..., position_ids=...)[0].
    transformers 5.x layers return a tensor [1, L, H]; 4.x returned a tuple."""
    out = layer(x.unsqueeze(0), **kwargs)
    if isinstance(out, (tuple, list)):
        out = out[0]
    if out.dim() == 3:
        out = out[0]
    return out


def head_logits(torch, model, hidden):
    """Final norm + lm_head on walker hidden states [N, L, H] -> float32 logits [N, L, V]."""
    norm = model.model.norm
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else model.lm_head
    with torch.no_grad():
        return head(norm(hidden)).float()


def compare_logits(torch, walk, ref, what):
    diff = (walk - ref).abs().max().item()
    ok = bool(torch.allclose(walk, ref, atol=LOGIT_ATOL, rtol=LOGIT_RTOL))
    if not ok:
        problem(f"{what}: walker logits differ from the model's (max abs diff {diff:.3e}); the layer "
                "walk does not reproduce this transformers version's forward")
    return {"max_abs_diff": diff, "ok": ok, "atol": LOGIT_ATOL, "rtol": LOGIT_RTOL}


def mean_next_token_loss(torch, logits, ids):
    import torch.nn.functional as F

    v = logits.shape[-1]
    return float(F.cross_entropy(logits[:, :-1].reshape(-1, v).double(), ids[:, 1:].reshape(-1)).item())


def module_names(model):
    return {id(m): n for n, m in model.named_modules()}


EXPECTED_SUBLAYERS = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                      "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]


def check_subset(subset, i):
    names = list(subset)
    if sorted(names) != sorted(EXPECTED_SUBLAYERS):
        problem(f"layer {i}: linear sublayers found by find_layers are {names}, expected {EXPECTED_SUBLAYERS}")


# --------------------------------------------------------------------------------------------
# Checks on the results
# --------------------------------------------------------------------------------------------


def boundary_ties_unstructured(torch, metric, k):
    """Rows where the k-th and (k+1)-th smallest metric values are equal (the stable sort's index
    order then decides)."""
    if k <= 0 or k >= metric.shape[1]:
        return 0
    s = torch.sort(metric, dim=-1, stable=True)[0]
    return int((s[:, k - 1] == s[:, k]).sum().item())


def boundary_ties_nm(torch, metric, n, m):
    """Groups of m where the n-th and (n+1)-th smallest are equal (topk's tie order decides)."""
    rows, cols = metric.shape
    if cols % m:
        return None
    g = torch.sort(metric.float().reshape(rows, cols // m, m), dim=-1)[0]
    return int((g[..., n - 1] == g[..., n]).sum().item())


def check_mask(torch, before, after, method, pattern, ratio, n, m, name):
    res = {}
    zero = after == 0
    newly = zero & (before != 0)
    rows, cols = after.shape
    if pattern == "unstructured" and method == "wanda":
        k = int(cols * ratio)
        per_row_new = newly.sum(1)
        ok = bool((zero.sum(1) >= k).all()) and bool((per_row_new <= k).all())
        res["per_row_pruned_target"] = k
        res["rows_meeting_target"] = int((zero.sum(1) >= k).sum().item())
    elif pattern == "unstructured":  # sparsegpt: threshold per block of BLOCKSIZE columns over all rows
        ok = True
        for i1 in range(0, cols, BLOCKSIZE):
            i2 = min(i1 + BLOCKSIZE, cols)
            blk = zero[:, i1:i2]
            if int(blk.sum().item()) < int(blk.numel() * ratio):
                ok = False
        res["blocks"] = [[i1, min(i1 + BLOCKSIZE, cols)] for i1 in range(0, cols, BLOCKSIZE)]
    else:
        if cols % m:
            ok = False
        else:
            gz = zero.reshape(rows, cols // m, m).sum(-1)
            ok = bool((gz >= n).all())
            if method == "wanda":  # Wanda zeroes exactly n per group; SparseGPT also updates kept weights
                gn = newly.reshape(rows, cols // m, m).sum(-1)
                ok = ok and bool((gn <= n).all())
            res["groups_with_exactly_n_zeros"] = int((gz == n).sum().item())
            res["groups"] = int(gz.numel())
    if method == "wanda":
        kept = ~zero
        unchanged = bool(torch.equal(after[kept], before[kept]))
        res["kept_weights_bit_identical"] = unchanged
        if not unchanged:
            problem(f"{name}: Wanda changed weights it kept")
    res["structure_ok"] = ok
    if not ok:
        problem(f"{name}: mask does not have the expected {pattern} structure")
    return res


# --------------------------------------------------------------------------------------------
# The two methods
# --------------------------------------------------------------------------------------------


def run_wanda(torch, up, model, layers, inps, layer_kwargs, ratio, n, m, names):
    """prune_wanda's layer walk (see docstring) around upstream WrappedGPT and upstream pruning loop."""
    nsamples = inps.shape[0]
    outs = torch.zeros_like(inps)
    stats, checks = {}, {}
    for i in range(len(layers)):
        layer = layers[i]
        kw = layer_kwargs[i]
        subset = up.wanda_find_layers(layer)
        check_subset(subset, i)

        wrapped_layers = {}
        for name in subset:
            wrapped_layers[name] = up.WrappedGPT(subset[name])
        sumsq64 = {name: torch.zeros(subset[name].weight.shape[1], dtype=torch.float64,
                                     device=subset[name].weight.device) for name in subset}
        ntokens = {name: 0 for name in subset}

        def add_batch(name):
            def tmp(_, inp, out):
                if not inp:
                    raise RuntimeError(f"{name} was called without a positional input; hooks cannot see it")
                wrapped_layers[name].add_batch(inp[0].data, out.data)  # upstream statistics
                x = inp[0].data.reshape(-1, inp[0].shape[-1]).to(torch.float64)  # extra, for the report
                sumsq64[name] += (x * x).sum(0)
                ntokens[name] += x.shape[0]
            return tmp

        handles = []
        for name in wrapped_layers:
            handles.append(subset[name].register_forward_hook(add_batch(name)))
        for j in range(nsamples):
            with torch.no_grad():
                outs[j] = layer_forward(torch, layer, inps[j], kw)
        for h in handles:
            h.remove()

        before, metrics = {}, {}
        for name in subset:
            full = names[id(subset[name])] + ".weight"
            w = wrapped_layers[name]
            sr = w.scaler_row.detach().float().cpu()
            before[name] = subset[name].weight.data.detach().clone()
            # Same expression as upstream, only to count ties at the selection boundary.
            metrics[name] = torch.abs(before[name]) * torch.sqrt(w.scaler_row.reshape((1, -1)))
            stats[full] = {
                "layer": i,
                "sublayer": name,
                "in_features": int(sr.numel()),
                "wrapped_nsamples": int(w.nsamples),
                "tokens_seen": int(ntokens[name]),
                "scaler_row": [float(x) for x in sr.tolist()],
                "sqrt_scaler_row": [float(x) for x in torch.sqrt(w.scaler_row).detach().float().cpu().tolist()],
                "x_l2_norm_f64": [float(x) for x in torch.sqrt(sumsq64[name]).cpu().tolist()],
            }

        # Upstream: the `for name in subset:` block of prune_wanda, executed as-is.
        up.run_wanda_pruning_loop(subset, wrapped_layers, ratio, n, m, i)

        for name in subset:
            full = names[id(subset[name])] + ".weight"
            after = subset[name].weight.data
            c = check_mask(torch, before[name], after, "wanda", "unstructured" if n == 0 else f"{n}:{m}",
                           ratio, n, m, full)
            if n == 0:
                c["boundary_ties"] = boundary_ties_unstructured(torch, metrics[name], int(after.shape[1] * ratio))
            else:
                c["boundary_ties"] = boundary_ties_nm(torch, metrics[name], n, m)
            checks[full] = c

        for j in range(nsamples):
            with torch.no_grad():
                outs[j] = layer_forward(torch, layer, inps[j], kw)
        inps, outs = outs, inps
    return inps, stats, checks, {}


def run_sparsegpt(torch, up, model, layers, inps, layer_kwargs, ratio, n, m, names, keep_hessians):
    """sparsegpt llama.py llama_sequential's layer walk (not true-sequential, its default) around
    the upstream SparseGPT class."""
    nsamples = inps.shape[0]
    outs = torch.zeros_like(inps)
    checks, hessians, reported = {}, {}, {}
    kn, km = up.fasterprune_nm_names
    with torch.no_grad():  # llama_sequential is decorated with @torch.no_grad()
        for i in range(len(layers)):
            layer = layers[i]
            kw = layer_kwargs[i]
            subset = up.sg_find_layers(layer)
            check_subset(subset, i)

            gpts = {}
            for name in subset:
                gpts[name] = up.SparseGPT(subset[name])

            def add_batch(name):
                def tmp(_, inp, out):
                    if not inp:
                        raise RuntimeError(f"{name} was called without a positional input; hooks cannot see it")
                    gpts[name].add_batch(inp[0].data, out.data)
                return tmp

            handles = []
            for name in subset:
                handles.append(subset[name].register_forward_hook(add_batch(name)))
            for j in range(nsamples):
                outs[j] = layer_forward(torch, layer, inps[j], kw)
            for h in handles:
                h.remove()

            for name in subset:
                full = names[id(subset[name])] + ".weight"
                before = subset[name].weight.data.detach().clone()
                # fasterprune modifies H in place (dead columns, damping): read the accumulated one now.
                h_diag = [float(x) for x in torch.diagonal(gpts[name].H).detach().float().cpu().tolist()]
                if keep_hessians:
                    hessians[full + ".H"] = gpts[name].H.detach().float().cpu().contiguous().clone()
                buf = io.StringIO()
                with contextlib.redirect_stdout(buf):
                    gpts[name].fasterprune(ratio, **{kn: n, km: m}, percdamp=PERCDAMP, blocksize=BLOCKSIZE)
                text = buf.getvalue()
                sys.stdout.write(f"{i} {name}\n{text}")
                err = None
                for line in text.splitlines():
                    if line.startswith("error "):
                        try:
                            err = float(line.split()[1])
                        except ValueError:
                            pass
                reported[full] = {"upstream_reported_error": err, "hessian_nsamples": int(gpts[name].nsamples),
                                  "hessian_diag": h_diag}
                gpts[name].free()
                after = subset[name].weight.data
                checks[full] = check_mask(torch, before, after, "sparsegpt",
                                          "unstructured" if n == 0 else f"{n}:{m}", ratio, n, m, full)

            for j in range(nsamples):
                outs[j] = layer_forward(torch, layer, inps[j], kw)
            inps, outs = outs, inps
    return inps, reported, checks, hessians


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def finite_or_none(x):
    return x if isinstance(x, float) and math.isfinite(x) else None


def sanitize(obj):
    """Replace non-finite floats by None (JSON has no NaN), noting it."""
    if isinstance(obj, float):
        if not math.isfinite(obj):
            problem("a non-finite number was written as null in summary.json")
            return None
        return obj
    if isinstance(obj, dict):
        return {k: sanitize(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [sanitize(v) for v in obj]
    return obj


def render_json(obj, level=0):
    """JSON with one key per line but lists of scalars (ids, statistics) on a single line."""
    pad, pad1 = " " * level, " " * (level + 1)
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f"{pad1}{json.dumps(str(k))}: {render_json(v, level + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, (list, tuple)):
        if all(not isinstance(v, (dict, list, tuple)) for v in obj):
            return json.dumps(list(obj), separators=(",", ":"), allow_nan=False)
        return "[\n" + ",\n".join(pad1 + render_json(v, level + 1) for v in obj) + "\n" + pad + "]"
    return json.dumps(obj, allow_nan=False)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--refcode", required=True, help="folder holding wanda/ and sparsegpt/ checkouts")
    ap.add_argument("--model", required=True, help="HF LlamaForCausalLM folder (save_pretrained, f32)")
    ap.add_argument("--calib", required=True, help='JSON {"sequences": [[ids], ...]} (equal lengths)')
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--device", default="auto", help="auto (cuda if available, else cpu), cuda, cuda:N or cpu")
    ap.add_argument("--attn-implementation", default="eager", help="eager (default), sdpa, ...")
    ap.add_argument("--only", default="", help="comma-separated setting keys: " + ", ".join(s[0] for s in SETTINGS))
    ap.add_argument("--hessians", action="store_true", help="also write <key>.hessians.safetensors (SparseGPT)")
    a = ap.parse_args()

    refcode = os.path.realpath(a.refcode)
    keys = [s[0] for s in SETTINGS]
    only = [k.strip() for k in a.only.split(",") if k.strip()]
    if any(k not in keys for k in only):
        raise SystemExit(f"--only: unknown setting(s) {[k for k in only if k not in keys]}; choose from {keys}")
    settings = [s for s in SETTINGS if not only or s[0] in only]
    if not os.path.isdir(a.model):
        raise SystemExit(f"--model {a.model}: not a folder")

    import numpy as np
    import torch

    upstream_desc = describe_upstream(refcode)
    up = Upstream(refcode, torch)
    import safetensors
    import transformers
    from safetensors.torch import load_file, save_file

    # TF32 off for everything (sparsegpt.py already did this on import; set it again for clarity,
    # through the same legacy flags, before any computation).
    try:
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    except Exception as e:  # noqa: BLE001
        problem(f"could not turn TF32 off: {e!r}")

    if a.device == "auto":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        device = torch.device(a.device)
    if not torch.cuda.is_available():
        # sparsegpt.py's fasterprune calls torch.cuda.synchronize(), which raises without CUDA.
        torch.cuda.synchronize = lambda *args, **kwargs: None

    with open(os.path.join(a.model, "config.json")) as f:
        cfg_json = json.load(f)
    seqs, calib_extra = load_calibration(a.calib, int(cfg_json.get("vocab_size", 1 << 62)))
    nsamples, seqlen = len(seqs), len(seqs[0])
    os.makedirs(a.out, exist_ok=True)

    # Weights as stored, to confirm loading did not change them.
    file_weights = {}
    for p in sorted(glob.glob(os.path.join(a.model, "*.safetensors"))):
        file_weights.update(load_file(p))
    if not file_weights:
        problem(f"{a.model}: no *.safetensors files; loaded weights not compared with the files")

    def flag(getter):
        try:
            return getter()
        except Exception as e:  # noqa: BLE001
            return f"unreadable ({type(e).__name__})"

    summary = {
        "script": "tools/reference/prune_reference.py",
        "created_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": sys.argv,
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "safetensors": getattr(safetensors, "__version__", pkg_version("safetensors")),
            "numpy": np.__version__,
            "cuda": torch.version.cuda,
            "cudnn": flag(lambda: torch.backends.cudnn.version()),
            "platform": platform.platform(),
        },
        "device": {
            "device": str(device),
            "name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu",
            "tf32_matmul": flag(lambda: bool(torch.backends.cuda.matmul.allow_tf32)),
            "tf32_cudnn": flag(lambda: bool(torch.backends.cudnn.allow_tf32)),
            "float32_matmul_precision": flag(lambda: torch.get_float32_matmul_precision()),
        },
        "upstream": dict(upstream_desc, wanda_pruning_loop=up.wanda_loop_info,
                         conv1d_shim=up.conv1d_shim,
                         sparsegpt_fasterprune_nm_args=list(up.fasterprune_nm_names)),
        "model": {
            "dir": os.path.realpath(a.model),
            "weights_sha256": {os.path.basename(p): sha256_file(p)
                               for p in sorted(glob.glob(os.path.join(a.model, "*.safetensors")))},
            "config": {k: cfg_json.get(k) for k in ("architectures", "hidden_size", "intermediate_size",
                                                    "num_hidden_layers", "num_attention_heads",
                                                    "num_key_value_heads", "vocab_size", "rope_theta",
                                                    "rope_scaling", "rope_parameters", "rms_norm_eps",
                                                    "tie_word_embeddings", "attention_bias", "mlp_bias",
                                                    "torch_dtype", "dtype")},
            "attn_implementation": a.attn_implementation,
            "dtype": "float32",
        },
        "calibration": {
            "file": os.path.realpath(a.calib),
            "sha256": sha256_file(a.calib),
            "nsamples": nsamples,
            "seqlen": seqlen,
            "other_keys": calib_extra,
            "sequences": seqs,
            "how_used": "each sequence is one calibration sample of batch 1 (upstream: nsamples windows of "
                        "model.seqlen tokens); no BOS added, ids used exactly as given",
        },
        "conventions": {
            "tensors": "<param> float32 pruned weight [out, in]; <param>.mask uint8, 1 where weight != 0 "
                       "(kept), 0 where pruned",
            "sparsity": "fraction of zeros in the pruned weight",
            "2:4": "at least 2 zeros in every 4 consecutive weights along the input dimension (Wanda "
                   "prune_n=2, prune_m=4; SparseGPT prunen=2, prunem=4); 2 kept of 4",
            "wanda_stats": "scaler_row: WrappedGPT.scaler_row after all calibration sequences = running "
                           "mean over the nsamples sequences of sum over that sequence's tokens of x_j^2 "
                           "(float32, updated as upstream: s *= n/(n+1); n += 1; s += ||x||^2/n). "
                           "sqrt_scaler_row: what multiplies |W| in W_metric = |W| * sqrt(scaler_row). "
                           "x_l2_norm_f64: ||X_j||_2 over all nsamples*seqlen tokens, accumulated in "
                           "float64 by this script (= sqrt(scaler_row * nsamples) up to rounding). "
                           "Per linear; q/k/v share an input, as do gate/up.",
            "order": "layer by layer; inside a layer, statistics of all 7 linears come from one pass "
                     "over the dense layer whose inputs are the outputs of the already-pruned earlier "
                     "layers; then all 7 are pruned; then the layer's outputs are recomputed with the "
                     "pruned layer for the next layer",
        },
        "settings": {},
        "problems": PROBLEMS,
    }

    ids_cpu = torch.tensor(seqs, dtype=torch.long)
    for key, method, pattern, ratio, n, m in settings:
        log(f"=== {key} ===")
        entry = {"method": method, "pattern": pattern, "sparsity_ratio": ratio, "prune_n": n, "prune_m": m,
                 "nsamples": nsamples, "seqlen": seqlen, "file": f"{key}.safetensors"}
        if method == "wanda":
            entry.update(use_variant=False, sort="torch.sort(W_metric, dim=-1, stable=True), float32",
                         nm_select="torch.topk(W_metric[:, ii:ii+m].float(), n, dim=1, largest=False)")
        else:
            entry.update(percdamp=PERCDAMP, blocksize=BLOCKSIZE, true_sequential=False,
                         hessians_file=f"{key}.hessians.safetensors" if a.hessians else None)
        summary["settings"][key] = entry
        try:
            torch.manual_seed(SEED)
            np.random.seed(SEED)
            model = load_model(torch, a.model, device, a.attn_implementation)
            model.seqlen = seqlen  # upstream attribute; informational here
            layers = decoder_layers(model)
            names = module_names(model)
            ids = ids_cpu.to(device)

            # Loaded weights must equal the files.
            mism = []
            for li in range(len(layers)):
                for name, mod in up.sg_find_layers(layers[li]).items():
                    full = names[id(mod)] + ".weight"
                    if full in file_weights and not torch.equal(
                            file_weights[full].to(torch.float32), mod.weight.data.detach().cpu()):
                        mism.append(full)
            if mism:
                problem(f"{key}: loaded weights differ from the files for {mism}")

            inps, layer_kwargs, dense_logits, cap = capture_calibration(torch, model, layers, ids)
            entry["calibration_capture"] = cap

            # Dense walk must reproduce the model.
            x, y = inps.clone(), torch.zeros_like(inps)
            with torch.no_grad():
                for li in range(len(layers)):
                    for j in range(nsamples):
                        y[j] = layer_forward(torch, layers[li], x[j], layer_kwargs[li])
                    x, y = y, x
            entry["check_dense_walk_vs_model"] = compare_logits(torch, head_logits(torch, model, x), dense_logits,
                                                                f"{key} dense")
            entry["dense_mean_next_token_loss"] = finite_or_none(mean_next_token_loss(torch, dense_logits, ids))
            del x, y

            if method == "wanda":
                final, stats, checks, _ = run_wanda(torch, up, model, layers, inps, layer_kwargs, ratio, n, m, names)
                entry["wanda_stats"] = stats
                hessians = {}
            else:
                final, reported, checks, hessians = run_sparsegpt(torch, up, model, layers, inps, layer_kwargs,
                                                                  ratio, n, m, names, a.hessians)
                entry["sparsegpt"] = reported
            entry["checks"] = checks

            # Pruned walk must reproduce the pruned model.
            with torch.no_grad():
                pruned_logits = torch.stack([model(input_ids=ids[j:j + 1], use_cache=False).logits[0].float()
                                             for j in range(nsamples)])
            entry["check_pruned_walk_vs_model"] = compare_logits(torch, head_logits(torch, model, final),
                                                                 pruned_logits, f"{key} pruned")
            entry["pruned_mean_next_token_loss"] = finite_or_none(mean_next_token_loss(torch, pruned_logits, ids))

            tensors, per_tensor = {}, {}
            total_zeros = total = 0
            for li in range(len(layers)):
                for name, mod in up.sg_find_layers(layers[li]).items():
                    full = names[id(mod)] + ".weight"
                    w = mod.weight.data.detach().to(torch.float32).cpu().contiguous()
                    if not bool(torch.isfinite(w).all()):
                        problem(f"{key}: {full} has non-finite values")
                    mask = (w != 0).to(torch.uint8).contiguous()
                    tensors[full] = w.clone()
                    tensors[full + ".mask"] = mask
                    zeros = int((w == 0).sum().item())
                    per_tensor[full] = {"shape": list(w.shape), "numel": w.numel(), "zeros": zeros,
                                        "sparsity": zeros / w.numel()}
                    total_zeros += zeros
                    total += w.numel()
            entry["tensors"] = per_tensor
            entry["overall_sparsity"] = total_zeros / total if total else None
            meta = {"setting": key, "method": method, "pattern": pattern, "sparsity_ratio": str(ratio),
                    "format": "pt"}
            save_file(tensors, os.path.join(a.out, f"{key}.safetensors"), metadata=meta)
            if hessians:
                save_file(hessians, os.path.join(a.out, f"{key}.hessians.safetensors"), metadata=meta)
            log(f"{key}: overall sparsity {entry['overall_sparsity']:.4f}, dense loss "
                f"{entry['dense_mean_next_token_loss']}, pruned loss {entry['pruned_mean_next_token_loss']}")
            del model, layers, inps, final
            if device.type == "cuda":
                torch.cuda.empty_cache()
        except Exception as e:  # noqa: BLE001  (record, go on with the other settings)
            tb = traceback.format_exc()
            print(tb, file=sys.stderr, flush=True)
            entry["error"] = f"{type(e).__name__}: {e}"
            entry["traceback"] = tb
            problem(f"{key}: raised {type(e).__name__}: {e}")

    summary["problems"] = list(PROBLEMS)
    summary = sanitize(summary)
    summary["problems"] = list(PROBLEMS)  # sanitize may have added one
    tmp = os.path.join(a.out, "summary.json.tmp")
    with open(tmp, "w") as f:
        f.write(render_json(summary) + "\n")
    os.replace(tmp, os.path.join(a.out, "summary.json"))
    log(f"wrote {a.out}/summary.json; {len(PROBLEMS)} problem(s)")
    for p in PROBLEMS:
        log(f"  - {p}")
    return 2 if PROBLEMS else 0


if __name__ == "__main__":
    sys.exit(main())
