#!/usr/bin/env python3
"""Reference outputs of the authors' SnapKV, Quest, H2O and TokenSelect selection code on fixed random inputs.

    python3 tools/reference/kv_policy_parity.py --reference .reference --out OUT.json \
        [--snapkv-commit SHA] [--quest-commit SHA]
    python3 tools/reference/kv_policy_parity.py --only h2o,token-select --backend numpy \
        --merge test/fixtures/kv-policies/parity.json --out test/fixtures/kv-policies/parity.json
    python3 tools/reference/kv_policy_parity.py --only h2o,token-select --backend torch \
        --merge test/fixtures/kv-policies/parity.json --out /tmp/parity-torch.json \
        --check-against test/fixtures/kv-policies/parity.json

--reference holds two files of the authors' repositories, carried at run time (git-ignored
.reference/ at the repository root, listed in .git/info/exclude) and never committed:

    .reference/snapkv/snapkv_utils.py      github.com/FasterDecoding/SnapKV  snapkv/monkeypatch/snapkv_utils.py
    .reference/quest/quest_attention.py    github.com/mit-han-lab/Quest      evaluation/quest_attention.py

(e.g. `git -C SNAPKV_CLONE show HEAD:snapkv/monkeypatch/snapkv_utils.py > .reference/snapkv/snapkv_utils.py`).
The output is test/fixtures/kv-policies/parity.json, read by test/attention/parity.test.ts.
--only picks sections (snapkv, quest, h2o, token-select; default all); --merge starts from an
existing fixture and replaces only the sections run (the others, their inputs and their
environment stay as they are); --check-against compares this run's H2O and TokenSelect entries
with another fixture's (inputs and indices equal, numbers within CHECK_TOLERANCE relative).

What runs as the authors wrote it:
  * SnapKV: SnapKVCluster.update_kv (window scores with the causal mask inside the window, fp32
    softmax, sum over the window's queries, avg/max pooling, topk of max_capacity_prompt -
    window_size, the window appended). It returns compressed keys/values, not indices, so the
    values passed in carry each position's index (value[.., p, :] = p) and the kept indices are
    read back from the compressed values. The pooled scores are recorded by handing the module a
    wrapper of torch.nn.functional whose avg_pool1d/max_pool1d store their result.
  * Quest: evaluation/quest_attention.py's decode `forward` (the authors' accuracy path; their CUDA
    kernels in quest/ops are not built on the GPU machine and are not used). It is called on a
    stand-in attention module whose q/k/v projections return the fixed query and newest key, with
    the earlier keys as the legacy past_key_value tuple. The module's apply_rotary_pos_emb is
    replaced by the identity: the fixture's queries and keys stand for post-RoPE vectors, which is
    what both implementations score. local_heavy_hitter_mask is wrapped to record its input (the
    per-token upper bounds: every token of a page carries its page's bound) and its mask (the
    chosen pages); the attention probabilities it returns are checked to be zero exactly outside
    the mask.

What is mirrored here (the authors' modules import a model stack that cannot be loaded on fixed
vectors: H2O's subclasses transformers' LlamaAttention of 2023, TokenSelect's imports sglang,
vllm and triton). Small functions below follow the authors' code step by step, with the same
torch calls, and cite the file and function each step comes from; their repositories are not
vendored. Both run on torch (--backend torch, the GPU machine) or numpy (--backend numpy, any
machine): the ops they need go through TorchOps/NumpyOps, one method per torch call, so the two
backends run the same steps.
  * H2O (github.com/FMInference/H2O, h2o_hf/utils_real_drop/modify_llama.py):
    H2OLlamaAttention.forward after the projections and RoPE (causal mask from _make_causal_mask,
    q.k / sqrt(d), fp32 softmax) and H2OKVCache_LayerWise.__call__ / _update_hh_score (hh_score =
    attention summed over the batch and the query rows, per query head; a step's new column is
    appended to the running score; above hh_size + recent_size, topk hh_size of the scores before
    the last recent_size entries, plus those entries, are kept and the scores follow). The values
    carry each position's index, as for SnapKV, so the kept positions are read back from them.
    Their cache is MHA only (hh_score is per query head and masks the [kv-heads] cache with it),
    so the GQA case stops at the prefill scores.
  * TokenSelect (github.com/pzs19/TokenSelect, patcher/token_retrieval.py): TokenRetriever.
    retrieval_indices and get_topk_tokens with paged_matmul_kernel's arithmetic (q.k without
    scale, query head h against KV head h % num_kv_heads), per-head softmax summed over heads,
    max_pool1d(KERNEL_SIZE, padding (KERNEL_SIZE - 1) // 2) when KERNEL_SIZE > 0, topk, sort,
    + n_init; [0, n_init) + top-k + the last n_local tokens. The selection cache is the QUERY_CACHE
    branch as it is meant to run (released with QUERY_CACHE = False, and that branch calls
    get_topk_tokens without its indices argument): a vote when it is the layer's first query or the
    cosine similarity of the query fingerprint (all heads concatenated) to the last voting one is
    below the threshold (0.9), else the last vote's tokens. Three settings of theirs are replaced
    and the test accounts for each (see token-select.ts): scores in float32 (their buffer is
    bfloat16: 8 significant bits make equal votes, 28 of the 217 candidates of the first vote
    here, and numpy has no bfloat16); QUERY_ROTATE (the query rotated at
    position n_local against un-rotated keys) by the identity, the vectors standing for what is
    scored, as for Quest; and, for GQA, the query heads are handed to the mirror permuted so that
    its h % kv_heads pairing meets the KV head that h // group, our (and the model's) grouping,
    gives: the soft vote sums over heads, so the permutation leaves it equal.

Inputs are N(0, 1) keys and N(0, s^2) queries rounded to float16 (stored exactly, base64 of
little-endian float16, arrays row-major as [heads, positions, headDim]) and computed in float32 on
the GPU with TF32 off. SnapKV's and Quest's come from torch's generator; H2O's and TokenSelect's
(key input 'd' and their queries) from numpy's default_rng, so that both backends read the same
inputs. For every case whose indices are compared, the query seed is advanced until the k-th and
(k+1)-th scores of every head differ by more than MIN_MARGIN relative, so that a float32 vs
float64 difference cannot reorder them (ties: see each policy file's header).

Exit status: 0 when every check passed, 2 when the fixture was written but a check failed, 1 when
it could not start.
"""
import argparse
import base64
import importlib.util
import json
import math
import platform
import sys
import traceback
import types

try:
    import numpy as np
except ImportError:
    np = None
try:
    import torch
except ImportError:  # the H2O and TokenSelect mirrors also run on numpy (--backend numpy)
    torch = None

PAGE_SIZE = 16
MIN_MARGIN = 1e-4
MAX_BYTES = 400_000
CHECK_TOLERANCE = 1e-5

# Keys [heads, positions, headDim] shared by the SnapKV and Quest cases (Quest reads prefixes).
KEY_INPUTS = {
    'a': dict(seed=1, heads=2, length=384, headDim=32),
    'b': dict(seed=2, heads=4, length=128, headDim=64),
    'c': dict(seed=3, heads=3, length=240, headDim=16),
}

# compare: 'kept' = MHA, kept indices and pooled scores must match; 'scores' = GQA, the authors
# select per query head, ours per KV head from the group's summed scores (documented deviation).
SNAPKV_CASES = [
    dict(name='mha-avg5-d32', keys='a', heads=2, kvHeads=2, window=32, budget=160, kernel=5, pooling='avgpool', queryScale=2.0, compare='kept'),
    dict(name='mha-avg5-d64', keys='b', heads=4, kvHeads=4, window=32, budget=96, kernel=5, pooling='avgpool', queryScale=2.0, compare='kept'),
    dict(name='mha-max7-d16', keys='c', heads=3, kvHeads=3, window=16, budget=64, kernel=7, pooling='maxpool', queryScale=3.0, budgetSearch=32, compare='kept'),
    dict(name='gqa-avg5-d64', keys='b', heads=4, kvHeads=2, window=16, budget=64, kernel=5, pooling='avgpool', queryScale=2.0, compare='scores'),
]

# query: 'random' N(0, s^2); 'self' = the newest key plus N(0, s^2) noise (its page then scores high).
QUEST_CASES = [
    dict(name='mha-random-query', keys='a', heads=2, kvHeads=2, length=384, budget=128, query='random', queryScale=1.0, compare='pages'),
    dict(name='mha-self-query-partial-page', keys='c', heads=3, kvHeads=3, length=237, budget=64, query='self', queryScale=0.5, compare='pages'),
    dict(name='mha-random-query-d64', keys='b', heads=4, kvHeads=4, length=128, budget=64, query='random', queryScale=1.0, compare='pages'),
    dict(name='gqa-random-query', keys='b', heads=4, kvHeads=2, length=128, budget=48, query='random', queryScale=1.0, compare='scores'),
]


# Keys drawn with numpy's default_rng (H2O and TokenSelect: both backends read the same inputs).
NUMPY_KEY_INPUTS = {
    'd': dict(seed=4, heads=2, length=264, headDim=16, generator='numpy.random.default_rng'),
}

# compare: 'kept' = MHA, per step the positions attended and kept and the kept positions' scores;
# 'scores' = GQA, where the authors' cache does not run: the prefill scores summed per KV head.
H2O_CASES = [
    dict(name='mha-hh20-recent28', keys='d', heads=2, kvHeads=2, prompt=128, decodeSteps=8, hhSize=20, recentSize=28, queryScale=1.0, compare='kept'),
    dict(name='mha-hh24-recent8', keys='d', heads=2, kvHeads=2, prompt=96, decodeSteps=6, hhSize=24, recentSize=8, queryScale=1.5, compare='kept'),
    dict(name='gqa-prefill-scores', keys='d', heads=4, kvHeads=2, prompt=64, decodeSteps=0, hhSize=16, recentSize=16, queryScale=1.0, compare='scores'),
]

# queries: 'cache' = a sequence that votes, reuses (cosine >= threshold to the last voting query)
# and votes again; 'random' = independent queries (each votes). topKSearch: as SnapKV's
# budgetSearch, max pooling makes plateaus, so top_k is moved until no plateau straddles a cut.
TOKEN_SELECT_CASES = [
    dict(name='gqa-selection-cache', keys='d', heads=4, kvHeads=2, prompt=256, decodeSteps=8, sinks=8, recent=32, topK=48, kernel=0, threshold=0.9, queries='cache', queryScale=0.5, compare='kept'),
    dict(name='mha-maxpool6', keys='d', heads=2, kvHeads=2, prompt=240, decodeSteps=3, sinks=4, recent=16, topK=40, kernel=6, threshold=0.9, queries='random', queryScale=0.5, topKSearch=24, compare='kept'),
    dict(name='gqa-maxpool5', keys='d', heads=4, kvHeads=2, prompt=200, decodeSteps=2, sinks=4, recent=16, topK=32, kernel=5, threshold=0.9, queries='random', queryScale=0.5, topKSearch=24, compare='kept'),
]

# Each step of the 'cache' sequence: ('random',) a fresh query; ('turn', base, degrees, direction)
# the query of step `base` turned by `degrees` towards random direction number `direction`.
# Step 4 is 40 degrees from step 2 (the last vote: cosine 0.77, votes) but 20 from step 3 (0.94):
# comparing with the previous query instead of the last voting one would reuse there.
CACHE_SEQUENCE = [('random',), ('turn', 0, 10, 0), ('random',), ('turn', 2, 20, 1), ('turn', 2, 40, 1), ('turn', 4, 15, 2), ('random',), ('random',)]
MIN_COSINE_MARGIN = 0.02

UPSTREAM_MIRRORED = {
    'h2o': {'repo': 'https://github.com/FMInference/H2O', 'commit': 'ac75c2a8a9e76832b2a4139b9363373b56336bfb', 'file': 'h2o_hf/utils_real_drop/modify_llama.py', 'mirrored': 'H2OLlamaAttention.forward (after projections and RoPE), H2OKVCache_LayerWise.__call__ and _update_hh_score'},
    'tokenSelect': {'repo': 'https://github.com/pzs19/TokenSelect', 'commit': '8e1e97f03e4e37f38f3dd15d1987fa59e80cdb43', 'file': 'patcher/token_retrieval.py', 'mirrored': 'TokenRetriever.retrieval_indices (QUERY_CACHE branch), get_topk_tokens, paged_matmul_kernel'},
}
FIXTURE_ORDER = ['about', 'upstream', 'environment', 'encoding', 'keys', 'snapkv', 'quest', 'h2o', 'tokenSelect', 'mirrorEnvironment', 'problems']
ABOUT = ("Outputs of the authors' SnapKV (SnapKVCluster.update_kv) and Quest (evaluation/quest_attention.py forward) on fixed inputs, "
         "and of mirrors of the authors' H2O (utils_real_drop H2OKVCache_LayerWise) and TokenSelect (TokenRetriever) code; "
         "made by tools/reference/kv_policy_parity.py, checked by test/attention/parity.test.ts.")
ENCODING = ('float16 little-endian, base64, row-major; keys [heads, length, headDim], windowQueries [heads, window, headDim], '
            'decodeQuery [heads, headDim], h2o queries [heads, prompt + decodeSteps, headDim], tokenSelect decodeQueries [decodeSteps, heads, headDim]')


def load_module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def b64_f16(t):
    return base64.b64encode(t.detach().to('cpu', torch.float16).contiguous().numpy().astype('<f2').tobytes()).decode('ascii')


def f32(x):
    """A float32 value as a decimal that reads back to the same float32 (None when not finite)."""
    return float('%.9g' % x) if math.isfinite(x) else None


def normal_f16(seed, shape, scale=1.0):
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(shape, generator=gen, dtype=torch.float32) * scale).half()


def relative_margin(values, k):
    """(v[k-1] - v[k]) / |v[k-1]| of the values sorted descending: how far the k-th is from the next."""
    s = sorted(values, reverse=True)
    if k >= len(s):
        return math.inf
    return (s[k - 1] - s[k]) / max(abs(s[k - 1]), 1e-30)


class PoolRecorder(types.ModuleType):
    """torch.nn.functional with avg_pool1d/max_pool1d recording their output (SnapKV's attn_cache)."""

    def __init__(self):
        super().__init__('F_recorder')
        self.pooled = None

    def __getattr__(self, name):
        return getattr(torch.nn.functional, name)

    def avg_pool1d(self, *a, **kw):
        self.pooled = torch.nn.functional.avg_pool1d(*a, **kw)
        return self.pooled

    def max_pool1d(self, *a, **kw):
        self.pooled = torch.nn.functional.max_pool1d(*a, **kw)
        return self.pooled


def run_snapkv(snap, keys_f16, case, device, problems):
    heads, kv_heads, w, budget = case['heads'], case['kvHeads'], case['window'], case['budget']
    keys16 = keys_f16[:kv_heads]
    _, length, d = keys16.shape
    group = heads // kv_heads
    recorder = PoolRecorder()
    snap.F = recorder
    seed = 1000 + 97 * SNAPKV_CASES.index(case)
    keys = snap.repeat_kv(keys16.float()[None].to(device), group)
    values = torch.arange(length, device=device, dtype=torch.float32).view(1, 1, length, 1).expand(1, heads, length, d).contiguous()

    def update_kv(queries16, budget):
        queries = torch.zeros((1, heads, length, d), device=device)
        queries[0, :, length - w:] = queries16.float().to(device)
        cluster = snap.SnapKVCluster(window_size=w, max_capacity_prompt=budget, kernel_size=case['kernel'], pooling=case['pooling'])
        _, v_out = cluster.update_kv(keys, queries, values, None, group)
        return v_out, recorder.pooled[0].double().cpu()  # pooled: [heads, length - w]

    # Max pooling spreads each local maximum over up to `kernel` positions: equal scores by
    # construction. The budget is then moved (up to budgetSearch tokens) until no plateau straddles
    # the cut, so the kept set does not depend on topk's tie order.
    for attempt in range(50):
        queries16 = normal_f16(seed + attempt, (heads, w, d), case['queryScale'])
        v_out, pooled = update_kv(queries16, budget)
        for b in range(budget, budget + case.get('budgetSearch', 1)):
            margin = min(relative_margin(pooled[h].tolist(), b - w) for h in range(heads))
            if margin > MIN_MARGIN:
                break
        if case['compare'] != 'kept' or margin > MIN_MARGIN:
            break
    else:
        problems.append(f"snapkv {case['name']}: no query seed gave a margin > {MIN_MARGIN}")
    if b != budget:
        budget = b
        v_out, pooled = update_kv(queries16, budget)
    kept = []
    for h in range(heads):
        idx = v_out[0, h, :, 0].round().long().cpu().tolist()
        compressed, window = idx[: budget - w], idx[budget - w:]
        if window != list(range(length - w, length)):
            problems.append(f"snapkv {case['name']} head {h}: window not kept last: {window[:4]}...")
        top = torch.topk(pooled[h], budget - w).indices.tolist()
        if sorted(top) != sorted(compressed):
            problems.append(f"snapkv {case['name']} head {h}: kept indices differ from topk of the recorded pooled scores")
        kept.append(sorted(compressed) + window)
    return {
        **case,
        'budget': budget,
        'querySeed': seed + attempt,
        'length': length,
        'headDim': d,
        'windowQueries': b64_f16(queries16),
        'pooledScores': [[f32(x) for x in pooled[h].tolist()] for h in range(heads)],
        'kept': kept,
        'minRelativeMargin': f32(margin),
    }


def run_quest(quest, keys_f16, case, device, problems):
    heads, kv_heads, length, budget = case['heads'], case['kvHeads'], case['length'], case['budget']
    keys16 = keys_f16[:kv_heads, :length]
    d = keys16.shape[-1]
    group = heads // kv_heads
    pages = math.ceil(length / PAGE_SIZE)
    current = (length - 1) // PAGE_SIZE
    k = min(max(3, budget // PAGE_SIZE), pages)  # the authors' page count
    captured = {}
    original_mask = quest.local_heavy_hitter_mask

    def recording_mask(weights, token_budget, chunk_size):
        captured['weights'] = weights.detach().clone()
        captured['mask'] = original_mask(weights, token_budget, chunk_size)
        return captured['mask']

    quest.local_heavy_hitter_mask = recording_mask
    quest.apply_rotary_pos_emb = lambda q, k_, *a, **kw: (q, k_)
    seed = 2000 + 97 * QUEST_CASES.index(case)
    keys = keys16.float().to(device)
    for attempt in range(50):
        noise16 = normal_f16(seed + attempt, (heads, d), case['queryScale'])
        if case['query'] == 'self':
            query16 = (keys16[:, length - 1].float().repeat_interleave(group, 0) + noise16.float()).half()
        else:
            query16 = noise16
        query = query16.float().to(device)
        attn = types.SimpleNamespace(
            layer_id=2, num_heads=heads, num_key_value_heads=kv_heads, num_key_value_groups=group, head_dim=d,
            hidden_size=heads * d, chunk_size=PAGE_SIZE, token_budget=budget,
            q_proj=lambda x, q=query: q.reshape(1, 1, heads * d),
            k_proj=lambda x, kk=keys: kk[:, length - 1].reshape(1, 1, kv_heads * d),
            v_proj=lambda x: torch.zeros((1, 1, kv_heads * d), device=device),
            o_proj=lambda x: x,
            rotary_emb=lambda v, pos: (None, None),
        )
        past = (keys[None, :, : length - 1].contiguous(), torch.zeros((1, kv_heads, length - 1, d), device=device))
        hidden = torch.zeros((1, 1, heads * d), device=device)
        position_ids = torch.tensor([[length - 1]], device=device)
        _, probs, _ = quest.forward(attn, hidden, attention_mask=None, position_ids=position_ids, past_key_value=past, output_attentions=True, use_cache=True)
        weights = captured['weights'][0, :, 0].double().cpu()  # [heads, length]
        mask = captured['mask'][0, :, 0].cpu()
        scores, chosen, margins = [], [], []
        for h in range(heads):
            padded = torch.full((pages * PAGE_SIZE,), -math.inf, dtype=torch.float64)
            padded[:length] = weights[h]
            by_page = padded.view(pages, PAGE_SIZE)
            hi, lo = by_page.max(-1).values, torch.where(torch.isinf(by_page), math.inf, by_page).min(-1).values
            if not torch.equal(hi, lo):
                problems.append(f"quest {case['name']} head {h}: tokens of one page carry different bounds")
            scores.append([f32(x) for x in hi.tolist()])
            page_mask = torch.cat([mask[h], torch.zeros(pages * PAGE_SIZE - length, dtype=torch.bool)])
            picked = [p for p in range(pages) if bool(page_mask[p * PAGE_SIZE:(p + 1) * PAGE_SIZE].any())]
            chosen.append(picked)
            if len(picked) != k:
                problems.append(f"quest {case['name']} head {h}: {len(picked)} pages chosen, expected {k}")
            attended = (probs[0, h, 0].cpu() > 0)
            if not torch.equal(attended, mask[h]):
                problems.append(f"quest {case['name']} head {h}: attention probabilities nonzero outside the chosen pages")
            earlier = [x for p, x in enumerate(hi.tolist()) if p != current]
            margins.append(min(relative_margin(hi.tolist(), k), relative_margin(earlier, k - 1)))
        margin = min(margins)
        if case['compare'] != 'pages' or margin > MIN_MARGIN:
            break
    else:
        problems.append(f"quest {case['name']}: no query seed gave a margin > {MIN_MARGIN}")
    quest.local_heavy_hitter_mask = original_mask
    return {
        **case,
        'querySeed': seed + attempt,
        'headDim': d,
        'pageSize': PAGE_SIZE,
        'currentPage': current,
        'authorsPageCount': k,
        'decodeQuery': b64_f16(query16),
        'pageScores': scores,
        'chosenPages': chosen,
        'currentPageChosenByHead': [current in c for c in chosen],
        'minRelativeMargin': f32(margin),
    }


def normal_f16_np(seed, shape, scale=1.0):
    """numpy's counterpart of normal_f16 (its own stream: inputs of the H2O and TokenSelect cases)."""
    return (np.random.default_rng(seed).standard_normal(shape, dtype=np.float32) * np.float32(scale)).astype(np.float16)


def b64_f16_np(a):
    return base64.b64encode(np.ascontiguousarray(a, dtype='<f2').tobytes()).decode('ascii')


class TorchOps:
    """The torch calls the mirrored code makes, float32 on `device` (TF32 off by main)."""

    name = 'torch'

    def __init__(self, device):
        self.device = device

    def tensor(self, a):
        return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).to(self.device)

    def numpy(self, t):
        return t.detach().to('cpu', torch.float64).numpy()

    def arange(self, begin, end):
        return torch.arange(begin, end, device=self.device)

    def cat(self, tensors, dim):
        return torch.cat(tensors, dim=dim)

    def matmul_transposed(self, a, b):
        return torch.matmul(a, b.transpose(2, 3))

    def softmax(self, x):
        return torch.nn.functional.softmax(x, dim=-1, dtype=torch.float32)

    def topk_indices(self, x, k):
        return torch.topk(x, k, dim=-1).indices

    def sort(self, x):
        return x.sort().values

    def repeat_rows(self, row, n):
        return row.repeat(n, 1)

    def mask_from_indices(self, shape, indices):
        return torch.zeros(shape, dtype=torch.bool, device=self.device).scatter(-1, indices, 1)

    def repeat_kv(self, x, n_rep):
        batch, kv_heads, length, d = x.shape
        return x if n_rep == 1 else x[:, :, None].expand(batch, kv_heads, n_rep, length, d).reshape(batch, kv_heads * n_rep, length, d)

    def causal_mask(self, q_len, past_len):
        # modify_llama.py _make_causal_mask: finfo.min above the diagonal, zeros over the past.
        mask = torch.full((q_len, q_len), torch.finfo(torch.float32).min, device=self.device)
        cond = torch.arange(q_len, device=self.device)
        mask.masked_fill_(cond < (cond + 1).view(q_len, 1), 0)
        if past_len > 0:
            mask = torch.cat([torch.zeros(q_len, past_len, device=self.device), mask], dim=-1)
        return mask[None, None]

    def max_pool1d(self, x, kernel, padding):
        return torch.nn.functional.max_pool1d(x.unsqueeze(0), kernel_size=kernel, padding=padding, stride=1).squeeze(0)

    def cosine(self, a, b):
        return float(torch.cosine_similarity(a, b, dim=0))

    def index(self, values):
        return torch.as_tensor(values, device=self.device)


class NumpyOps:
    """The same steps in numpy float32: torch's semantics written out (topk: stable descending order)."""

    name = 'numpy'

    def tensor(self, a):
        return np.ascontiguousarray(a, dtype=np.float32)

    def numpy(self, a):
        return np.asarray(a, dtype=np.float64)

    def arange(self, begin, end):
        return np.arange(begin, end)

    def cat(self, arrays, dim):
        return np.concatenate(arrays, axis=dim)

    def matmul_transposed(self, a, b):
        return np.matmul(a, np.swapaxes(b, 2, 3))

    def softmax(self, x):
        e = np.exp(x - x.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)

    def topk_indices(self, x, k):
        return np.argsort(-x, axis=-1, kind='stable')[..., :k]

    def sort(self, x):
        return np.sort(x, axis=-1)

    def repeat_rows(self, row, n):
        return np.tile(row, (n, 1))

    def mask_from_indices(self, shape, indices):
        mask = np.zeros(shape, dtype=bool)
        np.put_along_axis(mask, indices, True, axis=-1)
        return mask

    def repeat_kv(self, x, n_rep):
        return np.repeat(x, n_rep, axis=1)

    def causal_mask(self, q_len, past_len):
        row = np.arange(q_len)
        mask = np.where(row[None, :] < (row + 1)[:, None], np.float32(0), np.finfo(np.float32).min).astype(np.float32)
        if past_len > 0:
            mask = np.concatenate([np.zeros((q_len, past_len), dtype=np.float32), mask], axis=-1)
        return mask[None, None]

    def max_pool1d(self, x, kernel, padding):
        # torch max_pool1d, stride 1: -inf padding, windows of `kernel`, len + 2 * padding - kernel + 1 outputs.
        padded = np.concatenate([np.full(padding, -np.inf, dtype=x.dtype), x, np.full(padding, -np.inf, dtype=x.dtype)])
        return np.lib.stride_tricks.sliding_window_view(padded, kernel).max(-1)

    def cosine(self, a, b):
        return float(np.dot(a, b) / max(float(np.linalg.norm(a)) * float(np.linalg.norm(b)), 1e-8))

    def index(self, values):
        return np.asarray(values)


class H2OCacheMirror:
    """H2O's h2o_hf/utils_real_drop/modify_llama.py H2OKVCache_LayerWise (__call__, _update_hh_score)."""

    def __init__(self, ops, hh_size, recent_size):
        self.ops = ops
        self.hh_size = hh_size
        self.recent_size = recent_size
        self.cache_size = hh_size + recent_size
        self.scores = None
        self.updated = None  # recorded: the scores after the update, before eviction
        self.considered = None  # recorded: the scores topk chose from (None: nothing evicted)

    def accumulate(self, step_attention):
        # _update_hh_score: sum over batch (0) then query rows (1): [heads, kv]; the old scores are
        # added to all but the step's new columns.
        new_columns = step_attention.shape[2]
        if self.scores is None:
            self.scores = step_attention.sum(0).sum(1)
        else:
            step_attention = step_attention.sum(0).sum(1)
            step_attention[:, :-new_columns] += self.scores
            self.scores = step_attention

    def __call__(self, past_key_values, step_attention):
        ops = self.ops
        self.accumulate(step_attention)
        self.updated, self.considered = self.scores, None
        length = past_key_values[0].shape[2]
        if length <= self.cache_size:
            return past_key_values
        bsz, num_heads, _, head_dim = past_key_values[0].shape
        candidate_scores = self.scores[:, :length - self.recent_size]
        self.considered = candidate_scores
        heavy = ops.sort(ops.topk_indices(candidate_scores, self.hh_size))
        recent = ops.repeat_rows(ops.arange(length - self.recent_size, length), heavy.shape[0])
        keep = ops.cat([heavy, recent], -1)
        mask = ops.mask_from_indices(self.scores.shape, keep)
        # past.squeeze()[mask] (bsz 1): the rows of each head in cache order, as a reshape keeps them.
        kept_keys = past_key_values[0][0][mask].reshape(bsz, num_heads, -1, head_dim)
        kept_values = past_key_values[1][0][mask].reshape(bsz, num_heads, -1, head_dim)
        self.scores = self.scores[mask].reshape(num_heads, self.cache_size)
        return (kept_keys, kept_values)


def h2o_attention_step(ops, cache, query_states, key_states, value_states, past_key_value):
    """H2OLlamaAttention.forward from its causal mask on ([1, heads, rows, d] after RoPE; MHA)."""
    q_len, d = query_states.shape[2], query_states.shape[3]
    past_len = past_key_value[0].shape[-2] if past_key_value is not None else 0
    attention_mask = ops.causal_mask(q_len, past_len)
    if past_key_value is not None:
        key_states = ops.cat([past_key_value[0], key_states], 2)
        value_states = ops.cat([past_key_value[1], value_states], 2)
    past_key_value = (key_states, value_states)
    attn_weights = ops.matmul_transposed(query_states, key_states) / math.sqrt(d) + attention_mask
    attn_weights = ops.softmax(attn_weights)
    return cache(past_key_value, attn_weights), value_states


def run_h2o(ops, keys_f16, case, problems):
    heads, kv_heads, prompt, steps = case['heads'], case['kvHeads'], case['prompt'], case['decodeSteps']
    length = prompt + steps
    keys16 = keys_f16[:kv_heads, :length]
    d = keys16.shape[-1]
    group = heads // kv_heads
    seed = 3000 + 97 * H2O_CASES.index(case)
    keys = ops.tensor(keys16)[None]
    # Each value row carries its position: the kept positions are read back from the cache.
    values = ops.tensor(np.broadcast_to(np.arange(length, dtype=np.float32)[None, :, None], (kv_heads, length, d)))[None]

    def positions(value_cache):
        return [[int(round(x)) for x in row] for row in ops.numpy(value_cache[0, :, :, 0]).tolist()]

    def scores_of(t):
        return [[f32(x) for x in row] for row in ops.numpy(t).tolist()]

    if case['compare'] != 'kept':
        # GQA: the authors' cache cannot evict (its per-query-head mask meets a per-KV-head cache);
        # the prefill scores are what _update_hh_score accumulates from the attention over repeat_kv.
        queries16 = normal_f16_np(seed, (heads, length, d), case['queryScale'])
        cache = H2OCacheMirror(ops, case['hhSize'], case['recentSize'])
        k = ops.repeat_kv(keys[:, :, :prompt], group)
        attn = ops.softmax(ops.matmul_transposed(ops.tensor(queries16)[None], k) / math.sqrt(d) + ops.causal_mask(prompt, 0))
        cache.accumulate(attn)
        return {**case, 'querySeed': seed, 'headDim': d, 'queries': b64_f16_np(queries16), 'prefillScores': scores_of(cache.scores)}
    for attempt in range(50):
        queries16 = normal_f16_np(seed + attempt, (heads, length, d), case['queryScale'])
        queries = ops.tensor(queries16)[None]
        cache = H2OCacheMirror(ops, case['hhSize'], case['recentSize'])
        margins = []
        records = []
        past, attended = h2o_attention_step(ops, cache, queries[:, :, :prompt], keys[:, :, :prompt], values[:, :, :prompt], None)
        prefill_scores = scores_of(cache.updated)
        for t in range(prompt - 1, length):
            if t >= prompt:
                past, attended = h2o_attention_step(ops, cache, queries[:, :, t:t + 1], keys[:, :, t:t + 1], values[:, :, t:t + 1], past)
            if cache.considered is not None:
                margins += [relative_margin(row, case['hhSize']) for row in ops.numpy(cache.considered).tolist()]
            kept = positions(past[1])
            if any(len(row) != min(t + 1, cache.cache_size) for row in kept):
                problems.append(f"h2o {case['name']} position {t}: {[len(r) for r in kept]} kept, expected {cache.cache_size}")
            record = {'position': t, 'kept': kept, 'scores': scores_of(cache.scores)}
            if t >= prompt:
                record['attended'] = positions(attended)
            records.append(record)
        margin = min(margins) if margins else math.inf
        if margin > MIN_MARGIN:
            break
    else:
        problems.append(f"h2o {case['name']}: no query seed gave a margin > {MIN_MARGIN}")
    return {
        **case,
        'querySeed': seed + attempt,
        'headDim': d,
        'queries': b64_f16_np(queries16),
        'prefillScores': prefill_scores,
        'steps': records,
        'minRelativeMargin': f32(margin),
    }


class TokenRetrieverMirror:
    """TokenSelect's patcher/token_retrieval.py TokenRetriever, one layer; the KV pool's slots are the positions."""

    def __init__(self, ops, cached_keys, num_heads, num_kv_heads, head_dim, top_k, kernel_size, threshold):
        self.ops = ops
        self.cached_keys = cached_keys  # [max_num_tokens, num_kv_heads, head_dim]
        self.num_heads, self.num_kv_heads, self.head_dim = num_heads, num_kv_heads, head_dim
        self.top_k, self.kernel_size = top_k, kernel_size
        # Their threshold is a tensor of the model's dtype (bfloat16: 0.8984375); float32 here.
        self.similarity_threshold = float(np.float32(threshold))
        self.num_tokens = 0
        self.first_query = True
        self.voted_query = None
        self.voted_tokens = None
        self.reuses = 0
        self.steps = 0
        self.recorded = None  # the last vote's (votes, pooled) over the candidates

    def append(self, count):
        self.num_tokens += count

    def head_scores(self, query, indices):
        # paged_matmul_kernel: scores[h, i] = sum over channels of query[h] * token[indices[i], h % NUM_KV_HEADS].
        kv_head = self.ops.index([h % self.num_kv_heads for h in range(self.num_heads)])
        tokens = self.cached_keys[indices][:, kv_head]  # [tokens, heads, d]
        return (query[None] * tokens).sum(-1).T

    def vote(self, fingerprint, topk, indices):
        fingerprint = fingerprint.reshape(self.num_heads, self.head_dim)
        # Their scores buffer is bfloat16 (the kernel stores its fp32 sums there); float32 here.
        scores = self.head_scores(fingerprint, indices)
        votes = self.ops.softmax(scores).sum(0)
        pooled = votes
        if self.kernel_size > 0:
            pooled = self.ops.max_pool1d(votes, self.kernel_size, (self.kernel_size - 1) // 2)
        self.recorded = (votes, pooled)
        return self.ops.sort(self.ops.topk_indices(pooled, topk))

    def select(self, query, n_init, n_local, topk):
        ops = self.ops
        length = self.num_tokens
        if n_init + topk + n_local >= length:
            return None, False
        # QUERY_ROTATE (query rotated at position n_local): the identity here, see the header.
        fingerprint = query.reshape(query.shape[0], -1).mean(0)
        voted = self.first_query or ops.cosine(self.voted_query, fingerprint) < self.similarity_threshold
        if voted:
            candidates = ops.arange(n_init, length - n_local)
            chosen = self.vote(fingerprint, topk, candidates) + n_init
            self.voted_tokens = chosen
            self.voted_query = fingerprint
            self.first_query = False
        else:
            chosen = self.voted_tokens
            self.reuses += 1
        self.steps += 1
        retrieved = ops.cat([ops.arange(0, n_init), chosen, ops.arange(length - n_local, length)], 0)
        return retrieved, voted


def token_select_queries(seed, case):
    """[decodeSteps, heads, headDim] float16 decode queries, in our head order (h // group pairs h with its KV head)."""
    rng = np.random.default_rng(seed)
    n = case['heads'] * case['headDim']
    steps = []
    pattern = CACHE_SEQUENCE if case['queries'] == 'cache' else [('random',)] * case['decodeSteps']
    directions = [rng.standard_normal(n) for _ in range(3)]
    for item in pattern[: case['decodeSteps']]:
        if item[0] == 'random':
            steps.append(rng.standard_normal(n) * case['queryScale'])
        else:
            _, base, degrees, direction = item
            q = steps[base]
            unit = q / np.linalg.norm(q)
            away = directions[direction] - np.dot(directions[direction], unit) * unit
            away /= np.linalg.norm(away)
            angle = math.radians(degrees)
            steps.append(np.linalg.norm(q) * (math.cos(angle) * unit + math.sin(angle) * away))
    return np.stack(steps).reshape(case['decodeSteps'], case['heads'], case['headDim']).astype(np.float16)


def authors_head_order(heads, kv_heads):
    """order[a] = our query head that the authors' head a must carry: a % kv_heads == order[a] // group."""
    group = heads // kv_heads
    return [(a % kv_heads) * group + a // kv_heads for a in range(heads)]


def run_token_select(ops, keys_f16, case, problems):
    heads, kv_heads, prompt, steps = case['heads'], case['kvHeads'], case['prompt'], case['decodeSteps']
    length = prompt + steps
    seed = 4000 + 97 * TOKEN_SELECT_CASES.index(case)
    d = keys_f16.shape[-1]
    case = {**case, 'headDim': d}
    n_init, n_local = case['sinks'], case['recent']
    tokens = ops.tensor(np.ascontiguousarray(keys_f16[:kv_heads, :length].transpose(1, 0, 2)))
    order = authors_head_order(heads, kv_heads)

    def run(queries16, top_k):
        retriever = TokenRetrieverMirror(ops, tokens, heads, kv_heads, d, top_k, case['kernel'], case['threshold'])
        retriever.append(prompt)
        out, cosines, previous = [], [], None
        for s in range(steps):
            retriever.append(1)  # store_kv_cache comes before retrieval_indices
            q = ops.tensor(queries16[s][order].reshape(1, heads * d))
            if previous is not None:
                cosines.append(ops.cosine(previous, q.reshape(-1)))
            indices, voted = retriever.select(q, n_init, n_local, top_k)
            if voted:
                previous = q.reshape(-1)
            step = {'position': prompt + s, 'voted': voted, 'indices': [int(x) for x in ops.numpy(indices).tolist()]}
            if voted:
                # The scores topk chose from: the soft votes, or with a kernel their pooling (each
                # pooled value is one of the votes, so the votes are not stored twice).
                votes, pooled = retriever.recorded
                step['pooled' if case['kernel'] > 0 else 'votes'] = [f32(x) for x in ops.numpy(pooled).tolist()]
            out.append(step)
        return out, cosines, retriever

    def margin_at(records, k):
        return min(relative_margin(r['pooled' if case['kernel'] > 0 else 'votes'], k) for r in records if r['voted'])

    for attempt in range(50):
        queries16 = token_select_queries(seed + attempt, case)
        top_k = case['topK']
        records, cosines, retriever = run(queries16, top_k)
        for k in range(top_k, top_k + case.get('topKSearch', 1)):
            margin = margin_at(records, k)
            if margin > MIN_MARGIN:
                break
        if margin > MIN_MARGIN:
            break
    else:
        problems.append(f"token-select {case['name']}: no query seed gave a margin > {MIN_MARGIN}")
    if k != top_k:
        top_k = k
        records, cosines, retriever = run(queries16, top_k)
    cosine_margin = min((abs(c - case['threshold']) for c in cosines), default=math.inf)
    if cosine_margin < MIN_COSINE_MARGIN:
        problems.append(f"token-select {case['name']}: a query's cosine is {cosine_margin} from the threshold")
    for r in records:
        if len(set(r['indices'])) != len(r['indices']):
            problems.append(f"token-select {case['name']} position {r['position']}: repeated indices")
    entry = {**case}
    entry.update({
        'topK': top_k,
        'querySeed': seed + attempt,
        'authorsHeadOrder': order,
        'decodeQueries': b64_f16_np(queries16),
        'steps': records,
        'votes': sum(r['voted'] for r in records),
        'reuses': retriever.reuses,
        'minRelativeMargin': f32(margin),
        'minCosineMargin': f32(cosine_margin),
    })
    if kv_heads < heads:
        # What the authors' h % kv_heads pairing picks on our head order: how much the mapping matters.
        plain = TokenRetrieverMirror(ops, tokens, heads, kv_heads, d, top_k, case['kernel'], case['threshold'])
        plain.append(prompt + 1)
        indices, _ = plain.select(ops.tensor(queries16[0].reshape(1, heads * d)), n_init, n_local, top_k)
        entry['firstVoteTokensChangedByHeadPairing'] = len(set(ops.numpy(indices).tolist()) - set(records[0]['indices']))
    return entry


SECTIONS = ['snapkv', 'quest', 'h2o', 'token-select']
FIXTURE_KEY = {'snapkv': 'snapkv', 'quest': 'quest', 'h2o': 'h2o', 'token-select': 'tokenSelect'}
MARGIN_FIELDS = {'minRelativeMargin', 'minCosineMargin'}


def section_of(problem):
    """The section a problem line belongs to ('snapkv mha-...: ...' -> 'snapkv'; None: the whole fixture)."""
    first = problem.split(' ', 1)[0].rstrip(':')
    return first if first in SECTIONS else None


def compare_values(ours, theirs, path, mismatches, worst):
    """Equal structure, strings and integers; floats within CHECK_TOLERANCE relative (margins are not compared)."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        if ours.keys() != theirs.keys():
            mismatches.append(f'{path}: keys {sorted(ours.keys() ^ theirs.keys())}')
        for key in ours.keys() & theirs.keys():
            if key not in MARGIN_FIELDS:
                compare_values(ours[key], theirs[key], f'{path}.{key}', mismatches, worst)
    elif isinstance(ours, list) and isinstance(theirs, list):
        if len(ours) != len(theirs):
            mismatches.append(f'{path}: length {len(ours)} vs {len(theirs)}')
        for i, (a, b) in enumerate(zip(ours, theirs)):
            compare_values(a, b, f'{path}[{i}]', mismatches, worst)
    elif isinstance(ours, float) or isinstance(theirs, float):
        error = abs(ours - theirs) / max(abs(theirs), 1e-30)
        worst[0] = max(worst[0], error)
        if not error <= CHECK_TOLERANCE:
            mismatches.append(f'{path}: {ours} vs {theirs}')
    elif ours != theirs:
        mismatches.append(f'{path}: {str(ours)[:60]} vs {str(theirs)[:60]}')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--reference', help='folder of the authors\' SnapKV and Quest files (snapkv and quest sections)')
    parser.add_argument('--out', required=True)
    parser.add_argument('--snapkv-commit', default='unknown')
    parser.add_argument('--quest-commit', default='unknown')
    parser.add_argument('--only', default=','.join(SECTIONS), help='comma-separated sections: ' + ', '.join(SECTIONS))
    parser.add_argument('--backend', choices=['torch', 'numpy'], help='for the H2O and TokenSelect mirrors (default: torch when importable)')
    parser.add_argument('--merge', help='fixture to start from: the sections not run are kept')
    parser.add_argument('--check-against', help='fixture whose H2O and TokenSelect entries this run must reproduce')
    args = parser.parse_args()
    sections = args.only.split(',')
    backend = args.backend or ('torch' if torch is not None else 'numpy')
    authors_modules = [s for s in sections if s in ('snapkv', 'quest')]
    if np is None or [s for s in sections if s not in SECTIONS] or (backend == 'torch' and torch is None):
        print(f'needs numpy, torch for --backend torch, and sections among {SECTIONS}', file=sys.stderr)
        return 1
    if authors_modules and (torch is None or not args.reference):
        print('the snapkv and quest sections load the authors\' torch modules: they need torch and --reference', file=sys.stderr)
        return 1
    device = 'cpu'
    if torch is not None and (backend == 'torch' or authors_modules):
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        device = 'cuda' if torch.cuda.is_available() else 'cpu'
    fixture, problems = {}, []
    if args.merge:
        with open(args.merge) as f:
            fixture = json.load(f)
        problems = [p for p in fixture.get('problems', []) if section_of(p) is not None and section_of(p) not in sections]
    fixture['about'] = ABOUT
    fixture['encoding'] = ENCODING
    fixture.setdefault('upstream', {})
    fixture.setdefault('keys', {})

    if authors_modules:
        snap = None
        if 'snapkv' in sections:
            try:
                snap = load_module('snapkv_utils', f'{args.reference}/snapkv/snapkv_utils.py')
            except Exception:
                traceback.print_exc()
                return 1
        key_inputs = {name: normal_f16(spec['seed'], (spec['heads'], spec['length'], spec['headDim'])) for name, spec in KEY_INPUTS.items()}
        kept_transformers = {} if 'quest' in sections else {k: v for k, v in fixture.get('environment', {}).items() if k == 'transformers'}
        fixture['environment'] = {'python': platform.python_version(), 'torch': torch.__version__, 'device': torch.cuda.get_device_name(0) if device == 'cuda' else 'cpu', 'tf32': False, **kept_transformers}
        fixture['keys'].update({name: {**spec, 'data': b64_f16(key_inputs[name])} for name, spec in KEY_INPUTS.items()})
        if snap is not None:
            fixture['upstream']['snapkv'] = {'repo': 'https://github.com/FasterDecoding/SnapKV', 'commit': args.snapkv_commit, 'file': 'snapkv/monkeypatch/snapkv_utils.py'}
            fixture['snapkv'] = []
            for case in SNAPKV_CASES:
                try:
                    fixture['snapkv'].append(run_snapkv(snap, key_inputs[case['keys']], case, device, problems))
                except Exception:
                    problems.append(f"snapkv {case['name']}: {traceback.format_exc()}")
        if 'quest' in sections:
            fixture['upstream']['quest'] = {'repo': 'https://github.com/mit-han-lab/Quest', 'commit': args.quest_commit, 'file': 'evaluation/quest_attention.py'}
            fixture['quest'] = []
            try:
                import transformers
                fixture['environment']['transformers'] = transformers.__version__
                quest = load_module('quest_attention', f'{args.reference}/quest/quest_attention.py')
                for case in QUEST_CASES:
                    try:
                        fixture['quest'].append(run_quest(quest, key_inputs[case['keys']], case, device, problems))
                    except Exception:
                        problems.append(f"quest {case['name']}: {traceback.format_exc()}")
            except Exception:
                problems.append(f'quest: {traceback.format_exc()}')

    mirrored = [(s, cases, run) for s, cases, run in (('h2o', H2O_CASES, run_h2o), ('token-select', TOKEN_SELECT_CASES, run_token_select)) if s in sections]
    if mirrored:
        ops = TorchOps(device) if backend == 'torch' else NumpyOps()
        np_keys = {name: normal_f16_np(spec['seed'], (spec['heads'], spec['length'], spec['headDim'])) for name, spec in NUMPY_KEY_INPUTS.items()}
        fixture['keys'].update({name: {**spec, 'data': b64_f16_np(np_keys[name])} for name, spec in NUMPY_KEY_INPUTS.items()})
        environment = {
            'backend': ops.name, 'python': platform.python_version(), 'numpy': np.__version__, 'float': 'float32',
            **({'torch': torch.__version__, 'device': torch.cuda.get_device_name(0) if device == 'cuda' else 'cpu', 'tf32': False} if backend == 'torch' else {'device': 'cpu'}),
        }
        fixture.setdefault('mirrorEnvironment', {})
        for section, cases, run in mirrored:
            key = FIXTURE_KEY[section]
            fixture['upstream'][key] = UPSTREAM_MIRRORED[key]
            fixture['mirrorEnvironment'][key] = environment
            fixture[key] = []
            for case in cases:
                try:
                    fixture[key].append(run(ops, np_keys[case['keys']], case, problems))
                except Exception:
                    problems.append(f"{section} {case['name']}: {traceback.format_exc()}")

    fixture['problems'] = problems
    fixture = {**{k: fixture[k] for k in FIXTURE_ORDER if k in fixture}, **{k: v for k, v in fixture.items() if k not in FIXTURE_ORDER}}
    text = json.dumps(fixture, separators=(',', ':'))
    if len(text) > MAX_BYTES:
        problems.append(f'fixture is {len(text)} bytes, over {MAX_BYTES}')
        text = json.dumps(fixture, separators=(',', ':'))
    with open(args.out, 'w') as f:
        f.write(text + '\n')
    summary = {
        'bytes': len(text),
        'snapkv': [(c['name'], c['querySeed'], c['minRelativeMargin']) for c in fixture.get('snapkv', [])],
        'quest': [(c['name'], c['querySeed'], c['minRelativeMargin'], c['currentPageChosenByHead'], c['chosenPages']) for c in fixture.get('quest', [])],
        'h2o': [(c['name'], c['querySeed'], c.get('minRelativeMargin')) for c in fixture.get('h2o', [])],
        'tokenSelect': [(c['name'], c['querySeed'], c['topK'], c['minRelativeMargin'], c['votes'], c['reuses'], c.get('firstVoteTokensChangedByHeadPairing')) for c in fixture.get('tokenSelect', [])],
        'problems': problems,
    }
    if args.check_against:
        with open(args.check_against) as f:
            other = json.load(f)
        mismatches, worst = [], [0.0]
        for name in NUMPY_KEY_INPUTS:
            compare_values(fixture['keys'].get(name), other['keys'].get(name), f'keys.{name}', mismatches, worst)
        for section, _, _ in mirrored:
            key = FIXTURE_KEY[section]
            compare_values(fixture.get(key), other.get(key), key, mismatches, worst)
        summary['check'] = {'against': args.check_against, 'identicalBytes': text + '\n' == open(args.check_against).read(), 'worstRelativeError': worst[0], 'mismatches': mismatches[:20]}
        if mismatches:
            problems.append(f'check: {len(mismatches)} differences from {args.check_against}')
    print(json.dumps(summary, indent=1))
    return 2 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
