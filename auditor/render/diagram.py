"""The hierarchy diagram: account boxes, parent lines, cross-account caller IDs as red arrows.

The picture is drawn from a small networkx graph (accounts and two edge kinds)
laid out on a grid under the parent; past `MAX_BOXES` accounts the quiet ones
are folded into one box so the diagram stays readable for 1,000 accounts.
The SVG itself is written by the autoescaping template `diagram.svg.j2`.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace

import networkx as nx

from auditor.graph import EXECUTES, IS_NUMBER, OWNS, PARENT_OF, USES_CALLERID, VERIFIES, build_graph
from auditor.model import Analysis, Snapshot
from auditor.render.templating import environment
from auditor.render.view import natural_key

MAX_BOXES = 50  # the root included
COLUMNS = 4
WIDE_COLUMNS = 6  # past 16 subaccounts: wider rows keep the picture within one page
BOX_W, BOX_H = 196, 76
GAP_X, GAP_Y = 28, 88
MARGIN = 44
ROOT_GAP = 70
OTHERS = "__others__"
NAME_CHARS = 24
MAX_ARROWS = 40  # beyond this the busiest pairs are drawn and the rest counted in the caption


def hierarchy_graph(snapshot: Snapshot, analysis: Analysis) -> nx.MultiDiGraph:
    """The picture's graph, read off `auditor.graph.build_graph`: accounts with their counts,
    `parent` edges, and `uses` edges from the account that dials with a caller ID to the
    account(s) that own or verify it, when the dialing account does not (a cross-account use).
    """
    full = build_graph(_diagram_snapshot(snapshot, analysis), list(analysis.references))
    numbers = Counter(pn.account_sid for pn in snapshot.phone_numbers)
    verified = Counter(vc.account_sid for vc in snapshot.verified_caller_ids)
    serious: dict[str, int] = defaultdict(int)
    for f in analysis.findings:
        if f.severity in ("critical", "high"):
            serious[f.account_sid or ""] += 1
    accounts = {a.sid: a for a in snapshot.accounts}
    g = nx.MultiDiGraph()
    for _, data in full.nodes(data=True):
        if data.get("kind") != "account" or "sid" not in data:
            continue
        sid = str(data["sid"])
        acc = accounts.get(sid)
        g.add_node(
            sid,
            name=(acc.friendly_name if acc else "") or sid,
            status=acc.status if acc else "unknown",
            numbers=numbers[sid],
            verified=verified[sid],
            serious=serious[sid],
        )
    for u, v, kind in full.edges(data="kind"):
        if (
            kind == PARENT_OF
            and u.removeprefix("account:") in g
            and v.removeprefix("account:") in g
        ):
            g.add_edge(
                u.removeprefix("account:"), v.removeprefix("account:"), key="parent", kind="parent"
            )
    pred, succ = full.pred, full.succ

    def linked(
        adjacency: dict[str, dict[int | str, dict[str, object]]], kinds: set[str]
    ) -> list[str]:
        return [
            n
            for n, keyed in adjacency.items()
            if any(d.get("kind") in kinds for d in keyed.values())
        ]

    holders_of: dict[str, set[str]] = {}
    for node, data in full.nodes(data=True):
        if data.get("kind") != "ref" or analysis.references[int(str(data["index"]))].passthrough:
            continue
        users = [u.removeprefix("account:") for u in linked(pred[node], {EXECUTES})]
        for value in linked(succ[node], {USES_CALLERID}):
            if value not in holders_of:
                holders_of[value] = {
                    owner.removeprefix("account:")
                    for item in linked(pred[value], {IS_NUMBER})
                    for owner in linked(pred[item], {OWNS, VERIFIES})
                }
            holders = holders_of[value]
            for user in users:
                if user in holders or user not in g:
                    continue
                for owner in sorted(holders):
                    if owner in g:
                        _add_use(g, user, owner, value.removeprefix("value:"))
    return g


def _add_use(g: nx.MultiDiGraph, user: str, owner: str, number: str) -> None:
    edge = g.get_edge_data(user, owner, key="uses")
    if edge is None:
        g.add_edge(user, owner, key="uses", kind="uses", numbers=[number])
    elif number not in edge["numbers"]:
        edge["numbers"].append(number)


def _diagram_snapshot(snapshot: Snapshot, analysis: Analysis) -> Snapshot:
    """The part of the snapshot the picture needs: accounts, and the numbers and verified IDs
    some reference uses (the graph of 100,000 unused numbers would only cost time)."""
    used = {r.e164 for r in analysis.references if r.e164}
    return replace(
        snapshot,
        phone_numbers=[p for p in snapshot.phone_numbers if p.phone_number in used],
        verified_caller_ids=[v for v in snapshot.verified_caller_ids if v.phone_number in used],
        applications=[],
        sip_domains=[],
        flows=[],
        functions=[],
        alerts=[],
        webhooks=[],
    )


def fold(g: nx.MultiDiGraph, root: str, max_boxes: int = MAX_BOXES) -> nx.MultiDiGraph:
    """Keep the root and the accounts that matter most; fold the rest into one box."""
    if g.number_of_nodes() <= max_boxes:
        return g

    def weight(n: str) -> tuple[int, int, int, str]:
        uses = sum(1 for _, _, k in g.in_edges(n, data="kind") if k == "uses") + sum(
            1 for _, _, k in g.out_edges(n, data="kind") if k == "uses"
        )
        return (-uses, -g.nodes[n]["serious"], -g.nodes[n]["numbers"], n)

    others = sorted((n for n in g if n != root), key=weight)
    keep = {root, *others[: max_boxes - 2]}
    folded = [n for n in others if n not in keep]
    h = nx.MultiDiGraph()
    for n in keep:
        h.add_node(n, **g.nodes[n])
    h.add_node(
        OTHERS,
        name=f"{len(folded):,} more accounts",
        status="folded",
        numbers=sum(g.nodes[n]["numbers"] for n in folded),
        verified=sum(g.nodes[n]["verified"] for n in folded),
        serious=sum(g.nodes[n]["serious"] for n in folded),
    )
    for u, v, data in g.edges(data=True):
        u2 = u if u in keep else OTHERS
        v2 = v if v in keep else OTHERS
        if u2 == v2:
            continue
        if data["kind"] == "parent":
            h.add_edge(u2, v2, key="parent", kind="parent")
            continue
        existing = h.get_edge_data(u2, v2, key="uses")
        if existing is None:
            h.add_edge(u2, v2, key="uses", kind="uses", numbers=[])
            existing = h.get_edge_data(u2, v2, key="uses")
        existing["numbers"].extend(data["numbers"])
    return h


def wrap_name(name: str, width: int = NAME_CHARS) -> list[str]:
    """At most two lines of at most `width` characters, cut with an ellipsis."""
    words = name.split() or [""]
    lines = [""]
    for word in words:
        candidate = f"{lines[-1]} {word}".strip()
        if len(candidate) <= width or not lines[-1]:
            lines[-1] = candidate
        elif len(lines) < 2:
            lines.append(word)
        else:
            lines[-1] = candidate
            break
    rest = " ".join(words)
    used = " ".join(lines)
    lines = [ln if len(ln) <= width else ln[: width - 1] + "…" for ln in lines]
    if len(used) < len(rest) and not lines[-1].endswith("…"):
        lines[-1] = lines[-1][: width - 1] + "…"
    return lines


@dataclass
class Box:
    sid: str
    x: float
    y: float
    name: list[str]
    full_name: str
    status: str
    numbers: int
    verified: int
    serious: int
    root: bool


@dataclass
class Arrow:
    path: str
    label: str
    title: str
    lx: float
    ly: float
    lw: float


def _clip_line(cx: float, cy: float, tx: float, ty: float) -> tuple[float, float]:
    """Where the line from a box centre toward (tx, ty) leaves the box."""
    dx, dy = tx - cx, ty - cy
    if dx == 0 and dy == 0:
        return cx, cy
    scale = min(
        (BOX_W / 2 + 4) / abs(dx) if dx else math.inf,
        (BOX_H / 2 + 4) / abs(dy) if dy else math.inf,
    )
    return cx + dx * scale, cy + dy * scale


def _label(numbers: list[str]) -> tuple[str, str]:
    first = numbers[0] if numbers else "?"
    first = first if len(first) <= 18 else first[:17] + "…"
    label = first if len(numbers) <= 1 else f"{first} +{len(numbers) - 1}"
    title = ", ".join(n if len(n) <= 40 else n[:39] + "…" for n in numbers[:20])
    if len(numbers) > 20:
        title += f" and {len(numbers) - 20} more"
    return label, title


def layout(
    g: nx.MultiDiGraph, root: str, max_arrows: int = MAX_ARROWS
) -> tuple[list[Box], list[tuple[float, float, float, float]], list[Arrow], float, float]:
    children = sorted(
        (n for n in g if n != root),
        key=lambda n: (n == OTHERS, natural_key(str(g.nodes[n]["name"])), n),
    )
    cols = max(1, min(COLUMNS if len(children) <= 4 * COLUMNS else WIDE_COLUMNS, len(children)))
    row_w = cols * BOX_W + (cols - 1) * GAP_X
    width = max(row_w + 2 * MARGIN + 20, BOX_W + 2 * MARGIN)
    boxes: list[Box] = []
    pos: dict[str, tuple[float, float]] = {}

    def add(n: str, x: float, y: float) -> None:
        data = g.nodes[n]
        name = str(data["name"])
        boxes.append(
            Box(
                n,
                x,
                y,
                wrap_name(name),
                name if len(name) <= 200 else name[:199] + "…",
                str(data["status"]),
                int(data["numbers"]),
                int(data["verified"]),
                int(data["serious"]),
                n == root,
            )
        )
        pos[n] = (x + BOX_W / 2, y + BOX_H / 2)

    if root in g:
        add(root, (width - BOX_W) / 2, MARGIN)
    top = MARGIN + BOX_H + ROOT_GAP
    lines: list[tuple[float, float, float, float]] = []
    left = MARGIN + 20
    gutter = MARGIN
    rows = math.ceil(len(children) / cols) if children else 0
    for i, n in enumerate(children):
        r, c = divmod(i, cols)
        add(n, left + c * (BOX_W + GAP_X), top + r * (BOX_H + GAP_Y))
    # Parent lines: root → bus over each row → each box (Twilio subaccounts are one level deep).
    if root in g and rows:
        rx, ry = pos[root]
        bus_y = [top + r * (BOX_H + GAP_Y) - 22 for r in range(rows)]
        lines.append((rx, ry + BOX_H / 2, rx, bus_y[0]))
        lines.append((gutter, bus_y[0], gutter, bus_y[-1]))
        for r, y in enumerate(bus_y):
            in_row = children[r * cols : (r + 1) * cols]
            last_x = pos[in_row[-1]][0]
            lines.append((gutter, y, max(last_x, rx) if r == 0 else last_x, y))
            for n in in_row:
                if g.has_edge(root, n) or n == OTHERS:
                    lines.append((pos[n][0], y, pos[n][0], pos[n][1] - BOX_H / 2))
    arrows: list[Arrow] = []
    pair_count: dict[frozenset[str], int] = defaultdict(int)
    uses = [(u, v, d) for u, v, d in g.edges(data=True) if d.get("kind") == "uses"]
    # Arrows between drawn accounts first; those to or from the folded box only if room is left.
    uses.sort(key=lambda e: (OTHERS in (e[0], e[1]), -len(e[2]["numbers"]), e[0], e[1]))
    for u, v, data in sorted(uses[:max_arrows], key=lambda e: (e[0], e[1])):
        (x1, y1), (x2, y2) = pos[u], pos[v]
        k = pair_count[frozenset((u, v))]
        pair_count[frozenset((u, v))] += 1
        mx, my = (x1 + x2) / 2, (y1 + y2) / 2
        if abs(y1 - y2) < 1:  # same row: swing below the row, through the gap between rows
            cx, cy = mx, y1 + BOX_H + 56 + 14 * k
        else:
            length = math.hypot(x2 - x1, y2 - y1) or 1.0
            bend = 46 + 30 * k
            nx_, ny_ = -(y2 - y1) / length, (x2 - x1) / length
            cx, cy = mx + nx_ * bend, my + ny_ * bend
        sx, sy = _clip_line(x1, y1, cx, cy)
        ex, ey = _clip_line(x2, y2, cx, cy)
        label, title = _label(list(data["numbers"]))
        lx, ly = 0.25 * sx + 0.5 * cx + 0.25 * ex, 0.25 * sy + 0.5 * cy + 0.25 * ey
        arrows.append(
            Arrow(
                path=f"M{sx:.1f},{sy:.1f} Q{cx:.1f},{cy:.1f} {ex:.1f},{ey:.1f}",
                label=label,
                title=f"{g.nodes[u]['name']} uses {title}, owned by {g.nodes[v]['name']}"[:600],
                lx=lx,
                ly=ly,
                lw=7.2 * len(label) + 12,
            )
        )
    height = top + rows * (BOX_H + GAP_Y) - GAP_Y + MARGIN + 30
    return boxes, lines, arrows, width, height


DiagramSize = tuple[int, int]  # (boxes, arrows) at most
SCREEN_SIZE: DiagramSize = (MAX_BOXES, MAX_ARROWS)


def hierarchy_svg(
    snapshot: Snapshot, analysis: Analysis, size: DiagramSize = SCREEN_SIZE
) -> tuple[str, str]:
    """The inline SVG markup (escaped by the template) and a sentence on what it leaves out."""
    return hierarchy_svgs(snapshot, analysis, [size])[size]


def hierarchy_svgs(
    snapshot: Snapshot, analysis: Analysis, sizes: Iterable[DiagramSize]
) -> dict[DiagramSize, tuple[str, str]]:
    """The picture at each size, from one graph (report.pdf of a large hierarchy draws fewer
    boxes than report.html: fewer, larger boxes read better on paper, and WeasyPrint lays
    out each SVG text on its own)."""
    full = hierarchy_graph(snapshot, analysis)
    return {size: _drawn(full, snapshot.root_account_sid, *size) for size in sizes}


def _drawn(full: nx.MultiDiGraph, root: str, max_boxes: int, max_arrows: int) -> tuple[str, str]:
    g = fold(full, root, max_boxes)
    boxes, lines, arrows, width, height = layout(g, root, max_arrows)
    folded = OTHERS in g
    svg = (
        environment()
        .get_template("diagram.svg.j2")
        .render(
            boxes=boxes,
            lines=lines,
            arrows=arrows,
            width=width,
            height=height,
            box_w=BOX_W,
            box_h=BOX_H,
            folded=folded,
        )
    )
    notes = []
    if folded:
        notes.append(
            f"{g.number_of_nodes() - 1:,} of {full.number_of_nodes():,} accounts are drawn (those "
            f"with the most cross-account use); {g.nodes[OTHERS]['name']} are folded into one box."
        )
    pairs = sum(1 for _, _, k in g.edges(data="kind") if k == "uses")
    if pairs > len(arrows):
        notes.append(
            f"{len(arrows)} of {pairs:,} red arrows are drawn: the account pairs that share the "
            "most numbers. Every cross-account use is listed under Findings."
        )
    return svg, " ".join(notes)
