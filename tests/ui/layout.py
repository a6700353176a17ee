"""What a person sees of the report's tables, measured in a real browser (used by the screenshot tests).

``LAYOUT_JS`` returns, for the page at its current viewport: how far the page is wider than the
window, every table column or cell that sticks out of its table's box or out of the window
(``clipped``), and per table whether it is shown as a table or as one card per row (narrow
screens), its row heights and its line height.
"""

from __future__ import annotations

import json
from typing import Any

LAYOUT_JS = r"""JSON.stringify((() => {
  const W = document.documentElement.clientWidth;
  const out = {width: W, page_overflow: document.documentElement.scrollWidth - W, clipped: [], tables: {}};
  for (const t of document.querySelectorAll('table[data-table]')) {
    const name = t.dataset.table;
    const box = t.closest('.scroll') || t.parentElement;
    const boxRect = box.getBoundingClientRect();
    if (box.scrollWidth > box.clientWidth + 1)
      out.clipped.push(`${name}: ${box.scrollWidth}px of content in a ${box.clientWidth}px box`);
    const cards = getComputedStyle(t.tHead).display === 'none';
    const outside = (el, what) => {
      const r = el.getBoundingClientRect();
      if (r.width === 0) return;
      if (r.left < Math.max(0, boxRect.left) - 0.5 || r.right > Math.min(W, boxRect.right) + 0.5)
        out.clipped.push(`${name}: ${what} "${el.innerText.trim().slice(0, 40)}" spans ${Math.round(r.left)}-${Math.round(r.right)}px`);
    };
    if (!cards) for (const th of t.tHead.rows[0].cells) outside(th, 'column');
    for (const td of t.tBodies[0].querySelectorAll('td')) outside(td, 'cell');
    const rows = [...t.tBodies[0].rows];
    const cell = rows.length ? rows[0].cells[0] : t;
    const tableWidth = t.getBoundingClientRect().width;
    const tds = [...t.tBodies[0].querySelectorAll('td')];
    out.tables[name] = {
      narrowest_cell: tds.length ? Math.min(...tds.map(td => td.getBoundingClientRect().width)) / tableWidth : 1,
      cards, columns: t.tHead.rows[0].cells.length,
      line: parseFloat(getComputedStyle(cell).lineHeight) || 20,
      rows: rows.map(r => Math.round(r.getBoundingClientRect().height)),
      tallest_cell: Math.max(0, ...rows.flatMap(r => [...r.cells].map(c => Math.round(c.getBoundingClientRect().height)))),
    };
  }
  return out;
})())"""


def layout(page: Any) -> dict[str, Any]:
    return json.loads(page.eval(LAYOUT_JS))  # type: ignore[no-any-return]


def check_readable(page: Any, width: int, shot: Any) -> dict[str, Any]:
    """Lay the open page out ``width`` px wide, save a full-page screenshot to ``shot`` (printing its
    path), and assert what a reader needs: nothing wider than the window, no column or cell cut off or
    pushed out of its table, and no row that is mostly blank lines.

    At 1280 px every table is a real table (all its columns side by side), no row is taller than
    7 lines and an alert row at most 4; below 960 px each row is a card of "heading: value" lines,
    each as wide as the card (no value squeezed into a narrow column).
    """
    import time

    page.set_viewport(width)
    time.sleep(0.3)                                   # one layout pass after the resize
    facts = layout(page)
    page.screenshot(shot, width=width)
    print(f"screenshot ({width} px): {shot}")
    assert facts["width"] <= width and facts["page_overflow"] <= 0, facts["page_overflow"]
    assert facts["clipped"] == [], facts["clipped"]
    assert facts["tables"], "no tables on the page"
    for name, t in facts["tables"].items():
        line, pad = t["line"], 14
        if width >= 1280:
            assert not t["cards"], f"{name} is shown as cards at {width} px"
            limit = (4 if name == "alerts" else 7) * line + pad
            assert max(t["rows"], default=0) <= limit, (name, t["rows"], limit)
        else:
            assert t["cards"], f"{name} is a {t['columns']}-column table at {width} px"
            assert t["narrowest_cell"] >= 0.95, (name, t["narrowest_cell"])
    return facts
