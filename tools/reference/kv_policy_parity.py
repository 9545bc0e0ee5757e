#!/usr/bin/env python3
"""Reference outputs of the authors' SnapKV and Quest selection code on fixed random inputs.

    python3 tools/reference/kv_policy_parity.py --reference .reference --out OUT.json \
        [--snapkv-commit SHA] [--quest-commit SHA]

--reference holds two files of the authors' repositories, carried at run time (git-ignored
.reference/ at the repository root, listed in .git/info/exclude) and never committed:

    .reference/snapkv/snapkv_utils.py      github.com/FasterDecoding/SnapKV  snapkv/monkeypatch/snapkv_utils.py
    .reference/quest/quest_attention.py    github.com/mit-han-lab/Quest      evaluation/quest_attention.py

(e.g. `git -C SNAPKV_CLONE show HEAD:snapkv/monkeypatch/snapkv_utils.py > .reference/snapkv/snapkv_utils.py`).
The output is test/fixtures/kv-policies/parity.json, read by test/attention/parity.test.ts.

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

Inputs are N(0, 1) keys and N(0, s^2) queries rounded to float16 (stored exactly, base64 of
little-endian float16, arrays row-major as [heads, positions, headDim]) and computed in float32 on
the GPU with TF32 off. For every case whose indices are compared, the query seed is advanced until
the k-th and (k+1)-th scores of every head differ by more than MIN_MARGIN relative, so that a
float32 vs float64 difference cannot reorder them (ties: see each policy file's header).

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

import torch

PAGE_SIZE = 16
MIN_MARGIN = 1e-4
MAX_BYTES = 300_000

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


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--reference', required=True)
    parser.add_argument('--out', required=True)
    parser.add_argument('--snapkv-commit', default='unknown')
    parser.add_argument('--quest-commit', default='unknown')
    args = parser.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    try:
        snap = load_module('snapkv_utils', f'{args.reference}/snapkv/snapkv_utils.py')
    except Exception:
        traceback.print_exc()
        return 1
    problems = []
    key_inputs = {name: normal_f16(spec['seed'], (spec['heads'], spec['length'], spec['headDim'])) for name, spec in KEY_INPUTS.items()}
    fixture = {
        'about': 'Outputs of the authors\' SnapKV (SnapKVCluster.update_kv) and Quest (evaluation/quest_attention.py forward) on fixed inputs; made by tools/reference/kv_policy_parity.py, checked by test/attention/parity.test.ts.',
        'upstream': {
            'snapkv': {'repo': 'https://github.com/FasterDecoding/SnapKV', 'commit': args.snapkv_commit, 'file': 'snapkv/monkeypatch/snapkv_utils.py'},
            'quest': {'repo': 'https://github.com/mit-han-lab/Quest', 'commit': args.quest_commit, 'file': 'evaluation/quest_attention.py'},
        },
        'environment': {'python': platform.python_version(), 'torch': torch.__version__, 'device': torch.cuda.get_device_name(0) if device == 'cuda' else 'cpu', 'tf32': False},
        'encoding': 'float16 little-endian, base64, row-major; keys [heads, length, headDim], windowQueries [heads, window, headDim], decodeQuery [heads, headDim]',
        'keys': {name: {**spec, 'data': b64_f16(key_inputs[name])} for name, spec in KEY_INPUTS.items()},
        'snapkv': [],
        'quest': [],
    }
    for case in SNAPKV_CASES:
        try:
            fixture['snapkv'].append(run_snapkv(snap, key_inputs[case['keys']], case, device, problems))
        except Exception:
            problems.append(f"snapkv {case['name']}: {traceback.format_exc()}")
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
    fixture['problems'] = problems
    text = json.dumps(fixture, separators=(',', ':'))
    if len(text) > MAX_BYTES:
        problems.append(f'fixture is {len(text)} bytes, over {MAX_BYTES}')
        text = json.dumps(fixture, separators=(',', ':'))
    with open(args.out, 'w') as f:
        f.write(text + '\n')
    summary = {
        'bytes': len(text),
        'snapkv': [(c['name'], c['querySeed'], c['minRelativeMargin']) for c in fixture['snapkv']],
        'quest': [(c['name'], c['querySeed'], c['minRelativeMargin'], c['currentPageChosenByHead'], c['chosenPages']) for c in fixture['quest']],
        'problems': problems,
    }
    print(json.dumps(summary, indent=1))
    return 2 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
