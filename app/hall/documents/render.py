"""A notice as PDF (fpdf2), set in a CJK font found on the machine.

The font is Noto Serif CJK SC from Debian's `fonts-noto-cjk` (tools/_install and the Dockerfile install it), or
any TrueType/OpenType font named by `TONGBAN_CJK_FONT` (`path` or `path:index` for a collection). fpdf2 embeds
the subset of glyphs used, so the PDF shows the same everywhere.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import WrapMode, XPos, YPos

from ...errors import Unavailable
from .templates import Sheet

# (regular, bold) candidates; the number is the face in a .ttc collection (2 = SC in Noto CJK)
_CANDIDATES = [
    (("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2),
     ("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", 2)),
    (("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
     ("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", 2)),
    (("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0), None),
    (("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", 0), None),
]


def _spec(value: str) -> tuple[str, int]:
    path, _, index = value.rpartition(":") if value.rsplit(":", 1)[-1].isdigit() else (value, "", "0")
    return path, int(index or 0)


def fonts() -> tuple[tuple[str, int], tuple[str, int]] | None:
    """The (regular, bold) CJK faces to set notices in, or None when the machine has none (TONGBAN_CJK_FONT, else
    the first found)."""
    from flask import current_app, has_app_context

    return _fonts(current_app.config.get("CJK_FONT") if has_app_context() else None)


@lru_cache(maxsize=4)
def _fonts(configured: str | None) -> tuple[tuple[str, int], tuple[str, int]] | None:
    if configured:
        regular = _spec(configured)
        return (regular, regular) if Path(regular[0]).exists() else None
    for regular, bold in _CANDIDATES:
        if Path(regular[0]).exists():
            return regular, bold if bold and Path(bold[0]).exists() else regular
    if shutil.which("fc-match"):  # whatever fontconfig offers for Chinese
        found = subprocess.run(["fc-match", "-f", "%{file}:%{index}", ":lang=zh-cn"], capture_output=True,
                               text=True, timeout=10).stdout.strip()
        path, index = _spec(found) if found else ("", 0)
        if path.lower().endswith((".ttf", ".otf", ".ttc")) and Path(path).exists():
            return (path, index), (path, index)
    return None


class _Pdf(FPDF):
    def __init__(self, sheet: Sheet) -> None:
        super().__init__(format="A4")
        self.sheet = sheet
        self.set_margins(25, 22, 25)
        self.set_auto_page_break(True, margin=22)

    def footer(self) -> None:
        self.set_y(-16)
        self.set_font("body", size=8)
        self.set_text_color(110, 110, 110)
        text = "　".join(self.sheet.footer)
        self.cell(0, 5, f"{text}　第 {self.page_no()} 页", align="C")
        self.set_text_color(0, 0, 0)


def render(sheet: Sheet, *, title: str | None = None) -> bytes:
    faces = fonts()
    if faces is None:
        raise Unavailable("服务器未安装中文字体，无法生成 PDF (no CJK font: install fonts-noto-cjk)", {},
                          code="font_missing")
    (regular, regular_index), (bold, bold_index) = faces
    pdf = _Pdf(sheet)
    pdf.add_font("body", fname=regular, collection_font_number=regular_index)
    pdf.add_font("body", style="B", fname=bold, collection_font_number=bold_index)
    pdf.set_title(title or sheet.title)
    pdf.set_creator("Tongban 通办")
    pdf.add_page()
    width = pdf.epw

    pdf.set_font("body", "B", 20)
    pdf.cell(width, 14, sheet.title, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("body", size=11)
    pdf.cell(width, 8, sheet.number, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(6)

    pdf.set_font("body", size=12)
    line = 7.5
    if sheet.addressee:
        _write(pdf, sheet.addressee, width, line)
    first, rest = (sheet.paragraphs[:1], sheet.paragraphs[1:]) if sheet.items else (sheet.paragraphs, [])
    for text in first:
        _paragraph(pdf, text, width, line)
    if sheet.rows:
        _table(pdf, sheet.rows, width)
    if sheet.items_heading:
        _paragraph(pdf, sheet.items_heading, width, line)
    if sheet.items:
        pdf.set_font("body", size=12)
        for n, item in enumerate(sheet.items, start=1):
            _write(pdf, f"{n}. {item}", width, line, indent=8)
    for text in [*rest, *sheet.after_items]:
        _paragraph(pdf, text, width, line)

    # the seal line: issuer, (seal), date — right-aligned, kept together on one page
    if pdf.will_page_break(40):
        pdf.add_page()
    pdf.ln(14)
    pdf.set_font("body", size=12)
    block = 70
    pdf.set_x(pdf.l_margin + width - block)
    pdf.cell(block, line, sheet.issuer + ("（印章）" if sheet.seal else ""), align="C",
             new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_x(pdf.l_margin + width - block)
    from .templates import chinese_date

    pdf.cell(block, line, chinese_date(sheet.issued_on), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())


_NO_LINE_START = set("，。、；：！？）》」』”’〕】…,.;:!?)%")
_NO_LINE_END = set("（《「『“‘〔【(")
_UNITS = re.compile(r"[0-9A-Za-z][0-9A-Za-z\-./:_@]*|.", re.S)


def _units(text: str) -> list[str]:
    """What a line may not be broken inside: a run of letters and digits (case numbers, phone numbers), a
    character with the closing punctuation after it (hanging at the line's end, 标点悬挂) or the opening
    punctuation before it."""
    units: list[str] = []
    carry = ""
    for token in _UNITS.findall(text):
        if token in _NO_LINE_START and units:
            units[-1] += token
        elif token in _NO_LINE_END:
            carry += token
        else:
            units.append(carry + token)
            carry = ""
    if carry:
        units.append(carry)
    return units


def _lines(pdf: FPDF, text: str, width: float) -> list[str]:
    lines, current = [], ""
    for unit in _units(text):
        if current and pdf.get_string_width(current + unit.rstrip("".join(_NO_LINE_START))) > width:
            lines.append(current)
            current = ""
        while pdf.get_string_width(unit) > width * 1.02:  # longer than a line: broken where it must be
            cut = max(1, int(len(unit) * width / pdf.get_string_width(unit)))
            lines.append(current + unit[:cut]) if not current else lines.extend([current, unit[:cut]])
            current, unit = "", unit[cut:]
        current += unit
    if current or not lines:
        lines.append(current)
    return lines


def _write(pdf: FPDF, text: str, width: float, line: float, indent: float = 0) -> None:
    for part in _lines(pdf, text, width - indent):
        pdf.set_x(pdf.l_margin + indent)
        pdf.cell(width - indent, line, part, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _paragraph(pdf: FPDF, text: str, width: float, line: float) -> None:
    if not text:
        return
    pdf.set_font("body", size=12)
    _write(pdf, "　　" + text, width, line)
    pdf.ln(1.5)


def _table(pdf: FPDF, rows: list[tuple[str, str]], width: float) -> None:
    pdf.ln(2)
    pdf.set_font("body", size=11)
    with pdf.table(col_widths=(34, 86), width=width, line_height=7, text_align=("CENTER", "LEFT"),
                   first_row_as_headings=False, wrapmode=WrapMode.CHAR) as table:
        for label, value in rows:
            row = table.row()
            row.cell(label)
            row.cell(value or "")
    pdf.ln(4)
