"""The ManyVoices corpus card: every voice, how many distinct voices there really are, and the
scale of speaker similarity in each split.

Speaker embeddings (Resemblyzer, the evaluation's default encoder) of up to
:data:`PER_VOICE` utterances per voice give:

* **the SIM scale of each split**: the cosine of two recordings of one voice, against that of
  two recordings of different voices of the same split, so that a model's SIM has a floor and
  a ceiling to be read against;
* **the distinct-voice count**: voices whose mean embeddings are closer than two recordings of
  one voice usually are (the median same-voice cosine over the corpus) are merged, by average
  linkage; what is left is counted. Speaker ids overstate it (an espeak-ng variant at two
  pitch settings is two ids, and may be one voice to the ear);
* **the map**: the mean embeddings projected on their first two principal components,
  training voices against the unseen ones.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from pathlib import Path

import numpy as np

from ...eval.similarity import SpeakerSimilarity
from .plan import SPLITS

PER_VOICE = 4
MAX_DIFFERENT_PAIRS = 1000


def _embed(paths_by_voice: dict[str, list[Path]], progress) -> dict[str, np.ndarray]:
    sim = SpeakerSimilarity("resemblyzer", device="cpu")
    out, total, done = {}, sum(len(p) for p in paths_by_voice.values()), 0
    for voice, paths in paths_by_voice.items():
        rows = []
        for path in paths:
            e = np.asarray(sim.embed(str(path)), dtype=np.float64)
            rows.append(e / (np.linalg.norm(e) + 1e-12))
            done += 1
            if progress and done % 20 == 0:
                progress("speaker embeddings", done, total)
        out[voice] = np.stack(rows)
    return out


def sim_scale(emb: dict[str, np.ndarray], voices: list[str], seed: int = 0) -> dict:
    """Mean and spread of same-voice and different-voice cosines among ``voices``."""
    same = [float(emb[v][0] @ emb[v][1]) for v in voices if len(emb[v]) >= 2]
    rng = random.Random(seed)
    pairs = [(a, b) for i, a in enumerate(voices) for b in voices[i + 1:]]
    pairs = rng.sample(pairs, min(len(pairs), MAX_DIFFERENT_PAIRS))
    diff = [float(emb[a][0] @ emb[b][0]) for a, b in pairs]

    def stats(x):
        return {"mean": round(float(np.mean(x)), 3), "std": round(float(np.std(x)), 3), "n": len(x)} if x else None

    return {"same_voice": stats(same), "different_voices": stats(diff)}


def distinct_voices(centroids: np.ndarray, threshold: float) -> int:
    """Clusters of ``centroids`` ``[V, D]`` (unit rows) under average linkage at cosine ``threshold``."""
    if len(centroids) < 2:
        return len(centroids)
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import pdist

    tree = linkage(pdist(centroids, metric="cosine"), method="average")
    return int(fcluster(tree, t=1.0 - threshold, criterion="distance").max())


def pseudo_distinctness(names: list[str], centroids: np.ndarray, rows: dict, threshold: float) -> dict | None:
    """How far each pseudo-speaker is from the voice it was made from, and from its siblings
    (the other pseudo-speakers of that voice): cosines of mean embeddings, and how many fall
    below ``threshold`` (closer than that, two voices count as one)."""
    index = {n: i for i, n in enumerate(names)}
    source_of = {}
    for n in names:
        r = rows[n]
        if r["f0"]:
            source_of[n] = next((m for m in names if not rows[m]["f0"] and rows[m]["engine"] == r["engine"]
                                 and rows[m]["name"] == r["name"]), None)
    to_source = [float(centroids[index[n]] @ centroids[index[s]]) for n, s in source_of.items() if s]
    siblings = [float(centroids[index[a]] @ centroids[index[b]]) for a in source_of for b in source_of
                if a < b and rows[a]["engine"] == rows[b]["engine"] and rows[a]["name"] == rows[b]["name"]]
    if not to_source:
        return None

    def stats(x):
        return {"mean": round(float(np.mean(x)), 3), "max": round(float(np.max(x)), 3), "n": len(x),
                "below_threshold": int(sum(v < threshold for v in x))} if x else None

    return {"to_source": stats(to_source), "to_siblings": stats(siblings)}


def _map(path: Path, names: list[str], centroids: np.ndarray, rows: dict) -> None:
    from matplotlib.figure import Figure

    x = centroids - centroids.mean(axis=0)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    xy = x @ vt[:2].T
    fig = Figure(figsize=(7, 6), dpi=100)
    ax = fig.add_subplot()
    style = {"train": ("#b0b0b0", 14), "dev_unseen": ("#1f77b4", 40), "test_unseen": ("#d62728", 40)}
    markers = {"real person": "*", "neural": "s", "pseudo-speaker": "^", "espeak/flite/festival": "o"}
    for split, (color, size) in style.items():
        for kind, marker in markers.items():
            idx = [i for i, n in enumerate(names) if rows[n]["split"] == split and rows[n]["kind"] == kind]
            if idx:
                ax.scatter(xy[idx, 0], xy[idx, 1], c=color, s=size * (3 if kind == "real person" else 1), marker=marker,
                           label=f"{split}: {kind}", alpha=0.8, edgecolors="none")
    ax.set_title("ManyVoices: voices by speaker embedding (PCA of Resemblyzer means)")
    ax.legend(fontsize=7, loc="best")
    fig.savefig(path)


def write_card(out: Path, jobs, audio_path, progress=None, seed: int = 0) -> dict:
    """Write ``OUT/CARD.md``, ``OUT/voice_map.png`` and ``OUT/card.json``; return the card's figures."""
    by_voice: dict[str, list] = defaultdict(list)
    for job in jobs:
        by_voice[job.voice.id].append(job)
    rows = json.loads((out / "speakers.json").read_text(encoding="utf-8"))
    paths = {v: [audio_path(out, j) for j in sorted(js, key=lambda j: j.id)[:PER_VOICE]] for v, js in by_voice.items()}
    emb = _embed(paths, progress)
    names = sorted(emb)
    centroids = np.stack([emb[n].mean(axis=0) / np.linalg.norm(emb[n].mean(axis=0)) for n in names])
    all_same = [float(emb[n][0] @ emb[n][1]) for n in names if len(emb[n]) >= 2]
    threshold = float(np.median(all_same)) if all_same else 0.9
    figures = {"voices": len(names), "distinct_voices": distinct_voices(centroids, threshold),
               "distinct_threshold": round(threshold, 3), "sim_scale": {}}
    for split in ("train", "dev_unseen", "test_unseen"):
        members = [n for n in names if rows[n]["split"] == split]
        if members:
            figures["sim_scale"][split] = sim_scale(emb, members, seed)
    for kind in sorted({r["kind"] for r in rows.values()}):
        members = [n for n in names if rows[n]["kind"] == kind and rows[n]["split"] != "train"]
        if len(members) >= 2:
            figures["sim_scale"][f"unseen {kind}"] = sim_scale(emb, members, seed)
    figures["pseudo_speakers"] = pseudo_distinctness(names, centroids, rows, threshold)
    _map(out / "voice_map.png", names, centroids, rows)
    (out / "card.json").write_text(json.dumps(figures, indent=1), encoding="utf-8")
    (out / "CARD.md").write_text(render_card(out, rows, figures), encoding="utf-8")
    return figures


def render_card(out: Path, rows: dict, figures: dict) -> str:
    """The card's Markdown."""
    summary = defaultdict(lambda: {"voices": 0, "seconds": 0.0, "utterances": 0})
    for r in rows.values():
        s = summary[(r["split"], r["kind"])]
        s["voices"] += 1
        s["seconds"] += r["seconds"]
        s["utterances"] += r["utterances"]
    lines = [
        "# ManyVoices corpus card", "",
        f"Built in `{out}`. {figures['voices']} voices (speaker ids); **{figures['distinct_voices']} distinct** by "
        f"speaker embedding (mean Resemblyzer embeddings closer than cosine {figures['distinct_threshold']}, the "
        "median of two recordings of one voice, are merged by average linkage).", "",
        "## Voices by split and kind", "", "| split | kind | voices | utterances | hours |", "|---|---|---|---|---|",
    ]
    for (split, kind), s in sorted(summary.items(), key=lambda kv: (SPLITS.index(kv[0][0]) if kv[0][0] in SPLITS else 9, kv[0][1])):
        lines.append(f"| {split} | {kind} | {s['voices']} | {s['utterances']} | {s['seconds'] / 3600:.2f} |")
    lines += ["", "## The scale of SIM", "",
              "Resemblyzer cosine of two recordings of the same voice, and of two different voices of the same "
              "split (mean ± std, pairs). A synthesis is as close to its prompt's voice as it is above the second "
              "column, relative to the first.", "",
              "| voices | same voice | different voices |", "|---|---|---|"]
    for name, sc in figures["sim_scale"].items():
        cell = [f"{sc[k]['mean']:.3f} ± {sc[k]['std']:.3f} ({sc[k]['n']})" if sc[k] else "-" for k in
                ("same_voice", "different_voices")]
        lines.append(f"| {name} | {cell[0]} | {cell[1]} |")
    ps = figures.get("pseudo_speakers")
    if ps:
        lines += ["", "## Pseudo-speakers are voices of their own", "",
                  "Cosine of each pseudo-speaker's mean embedding to that of the voice it was made from, and to its "
                  f"siblings made from the same voice; below {figures['distinct_threshold']} they count as distinct.",
                  "", "| compared with | mean | max | pairs | distinct |", "|---|---|---|---|---|"]
        for key, label in (("to_source", "its source voice"), ("to_siblings", "its siblings")):
            if ps[key]:
                lines.append(f"| {label} | {ps[key]['mean']:.3f} | {ps[key]['max']:.3f} | {ps[key]['n']} | "
                             f"{ps[key]['below_threshold']} |")
    lines += ["", "## Map", "", "![voices by speaker embedding](voice_map.png)", "",
              "Grey: training voices; blue: `dev_unseen`; red: `test_unseen`. Stars are real people, squares neural "
              "voices, triangles pseudo-speakers, dots espeak-ng/flite/festival.", "",
              "## Every voice", "", "| voice | kind | group | language | split | licence | utterances | minutes |",
              "|---|---|---|---|---|---|---|---|"]
    for vid, r in sorted(rows.items(), key=lambda kv: (kv[1]["split"], kv[1]["kind"], kv[0])):
        lines.append(f"| {vid} | {r['kind']} | {r['group']} | {r['language']} | {r['split']} | {r['licence']} | "
                     f"{r['utterances']} | {r['seconds'] / 60:.1f} |")
    return "\n".join(lines) + "\n"

