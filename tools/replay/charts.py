"""PNG charts drawn with Pillow (fpdf2's own dependency: no plotting library to install), labelled in Chinese with
Noto Sans CJK SC where the machine has it (Debian's fonts-noto-cjk, which tools/_install installs for notices)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONTS = (("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
         ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2),
         ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0))
BLUE, GREEN, ORANGE, RED, GREY, INK, GRID = "#3b6fb6", "#3d9a5b", "#e08a2c", "#c8453c", "#9aa3ad", "#222222", "#e3e6ea"


def font(size: int):
    custom = os.environ.get("TONGBAN_CJK_FONT")
    candidates = ((custom.split(":")[0], int(custom.split(":")[1]) if ":" in custom else 0),) if custom else ()
    for path, index in (*candidates, *FONTS):
        if Path(path).exists():
            return ImageFont.truetype(path, size, index=index)
    return ImageFont.load_default()


class Chart:
    """A plot area with a title, a y axis with grid lines, and room below for labels."""

    def __init__(self, width: int, height: int, title: str, subtitle: str = "", *, left: int = 70, right: int = 30,
                 top: int = 80, bottom: int = 70) -> None:
        self.image = Image.new("RGB", (width, height), "white")
        self.draw = ImageDraw.Draw(self.image)
        self.box = (left, top, width - right, height - bottom)
        self.title_font, self.font, self.small = font(24), font(15), font(12)
        self.draw.text((left, 18), title, fill=INK, font=self.title_font)
        if subtitle:
            self.draw.text((left, 50), subtitle, fill="#555555", font=self.small)

    def y_axis(self, low: float, high: float, steps: int = 5, unit: str = "") -> None:
        self.low, self.high = low, high
        x0, y0, x1, y1 = self.box
        for i in range(steps + 1):
            value = low + (high - low) * i / steps
            y = self.y(value)
            self.draw.line((x0, y, x1, y), fill=GRID)
            label = f"{value:.0f}{unit}" if (high - low) >= steps else f"{value:.1f}{unit}"
            w = self.draw.textlength(label, font=self.small)
            self.draw.text((x0 - 8 - w, y - 8), label, fill="#555555", font=self.small)
        self.draw.line((x0, y0, x0, y1), fill=GREY)
        self.draw.line((x0, y1, x1, y1), fill=GREY)

    def y(self, value: float) -> float:
        _, y0, _, y1 = self.box
        span = (self.high - self.low) or 1
        return y1 - (min(max(value, self.low), self.high) - self.low) / span * (y1 - y0)

    def legend(self, items: list[tuple[str, str]]) -> None:
        x = self.box[2]
        for label, colour in reversed(items):
            w = self.draw.textlength(label, font=self.font)
            x -= w + 34
            self.draw.rectangle((x, 24, x + 16, 40), fill=colour)
            self.draw.text((x + 22, 22), label, fill=INK, font=self.font)

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.image.save(path, "PNG", optimize=True)
        return path


def _nice(value: float) -> float:
    """A round upper bound for an axis."""
    if value <= 0:
        return 1
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def daily(days: list[dt.date], received: list[int], closed: list[int], path: Path, subtitle: str) -> Path:
    """Cases received (bars) and closed (line) per day."""
    chart = Chart(1200, 520, "每日收件与办结", subtitle)
    chart.y_axis(0, _nice(max([*received, *closed, 1]) * 1.05), unit="")
    chart.legend([("收件", BLUE), ("办结", ORANGE)])
    x0, _, x1, y1 = chart.box
    step = (x1 - x0) / max(1, len(days))
    points = []
    for i, (day, r, c) in enumerate(zip(days, received, closed, strict=True)):
        left = x0 + i * step
        if r:
            chart.draw.rectangle((left + step * 0.15, chart.y(r), left + step * 0.85, y1), fill=BLUE)
        points.append((left + step / 2, chart.y(c)))
        if day.day == 1 or i == 0 or (day.weekday() == 0 and len(days) <= 40):
            label = f"{day.month}/{day.day}"
            chart.draw.line((left + step / 2, y1, left + step / 2, y1 + 5), fill=GREY)
            chart.draw.text((left + step / 2 - chart.draw.textlength(label, font=chart.small) / 2, y1 + 8), label,
                            fill="#555555", font=chart.small)
    if len(points) > 1:
        chart.draw.line(points, fill=ORANGE, width=3)
    for point in points:
        chart.draw.ellipse((point[0] - 2.5, point[1] - 2.5, point[0] + 2.5, point[1] + 2.5), fill=ORANGE)
    chart.draw.text((x0, y1 + 32), "日期（非工作日无收件；办结按办结日计，含试运行结束后仍在办理的办件）", fill="#555555",
                    font=chart.small)
    return chart.save(path)


def on_time_by_window(rows: list[tuple[str, float | None, int]], path: Path, subtitle: str) -> Path:
    """On-time rate per window: (label, rate in percent or None, cases with a verdict)."""
    rated = [r for _, r, _ in rows if r is not None]
    low = max(0.0, min([*rated, 100.0]) - 2.0)
    low = float(int(low // 5 * 5)) if low < 95 else 90.0
    chart = Chart(1200, 560, "各窗口按时办结率", subtitle, bottom=90)
    chart.y_axis(low, 100.0, steps=int((100 - low) // 2) if 100 - low <= 10 else 5, unit="%")
    x0, _, x1, y1 = chart.box
    step = (x1 - x0) / max(1, len(rows))
    for i, (label, rate, count) in enumerate(rows):
        left = x0 + i * step
        centre = left + step / 2
        if rate is not None:
            colour = GREEN if rate >= 98 else BLUE if rate >= 95 else ORANGE if rate >= 90 else RED
            chart.draw.rectangle((left + step * 0.18, chart.y(rate), left + step * 0.82, y1), fill=colour)
            text = f"{rate:.1f}"
            chart.draw.text((centre - chart.draw.textlength(text, font=chart.small) / 2, chart.y(rate) - 16), text,
                            fill=INK, font=chart.small)
        chart.draw.text((centre - chart.draw.textlength(label, font=chart.small) / 2, y1 + 8), label, fill=INK,
                        font=chart.small)
        n = f"{count}"
        chart.draw.text((centre - chart.draw.textlength(n, font=chart.small) / 2, y1 + 26), n, fill="#777777",
                        font=chart.small)
    chart.draw.text((x0, y1 + 50), f"窗口号（下行：有结论的办件数）；纵轴自 {low:.0f}% 起。绿 ≥98% 优秀，蓝 ≥95% 良好，"
                                  "橙 ≥90% 合格，红 不合格", fill="#555555", font=chart.small)
    return chart.save(path)


def working_days_by_kind(rows: list[tuple[str, list[int], float]], path: Path, subtitle: str) -> Path:
    """Per kind: the working days its decisions took (average, median, p90, max) and its cases' average limit."""
    chart = Chart(1200, 520, "各类办件用时（工作日）", subtitle)
    top = max([max(days) if days else 0 for _, days, _ in rows] + [limit for *_, limit in rows] + [1])
    chart.y_axis(0, _nice(top * 1.1))
    chart.legend([("平均", BLUE), ("中位数", GREEN), ("90% 分位", ORANGE), ("最长", GREY)])
    x0, _, x1, y1 = chart.box
    step = (x1 - x0) / max(1, len(rows))
    for i, (label, days, limit) in enumerate(rows):
        left = x0 + i * step
        if limit:  # behind the bars: the cases' own limits, on average
            y = chart.y(limit)
            for dash in range(int(left + step * 0.08), int(left + step * 0.92), 12):
                chart.draw.line((dash, y, min(dash + 7, left + step * 0.92), y), fill=RED, width=2)
            text = f"平均时限 {limit:.1f}"
            chart.draw.text((left + step * 0.02, y - 17), text, fill=RED, font=chart.small)
        values = sorted(days)
        if values:
            figures = [(sum(values) / len(values), BLUE), (values[(len(values) - 1) // 2], GREEN),
                       (values[(9 * len(values) + 9) // 10 - 1], ORANGE), (values[-1], GREY)]
            width = step * 0.6 / len(figures)
            for j, (value, colour) in enumerate(figures):
                bar = left + step * 0.2 + j * width
                chart.draw.rectangle((bar + 2, chart.y(value), bar + width - 2, y1), fill=colour)
                text = f"{value:.1f}" if j == 0 else f"{value}"
                chart.draw.text((bar + width / 2 - chart.draw.textlength(text, font=chart.small) / 2,
                                 chart.y(value) - 16), text, fill=INK, font=chart.small)
        caption = f"{label}（{len(values)} 件）"
        chart.draw.text((left + step / 2 - chart.draw.textlength(caption, font=chart.font) / 2, y1 + 10), caption,
                        fill=INK, font=chart.font)
    chart.draw.text((x0, y1 + 40), "用时：受理至决定的工作日（不计特别程序暂停；上报件为区级初审至上报；不予受理自收件起）。"
                                  "虚线：这些办件的承诺时限（含延期）平均",
                    fill="#555555", font=chart.small)
    return chart.save(path)
