"""The catalog's reference year and the year of every law it may cite (one table, kept here).

The catalog describes the hall as it opened: the trial run began on 2008-10-28 (the seed report), so every
record cites the laws in force in **2008** and the matters that existed then. A citation's year is

- the largest year written in the citation itself — `（2007年修正）`, `〔2004〕20号`, `（2010-2020年）`,
  `2008年` — so that an amendment named in the text counts;
- otherwise the year of the law's title in `LAW_YEARS`: the year of the version in force in the reference
  year (an earlier enactment amended later keeps its first year), and for laws made after it, the year they
  were made, so that citing them without a year is caught too.

A citation whose year is after `REFERENCE_YEAR`, or whose year cannot be told (a title not in the table and
no year in the text), is refused by `app.matters.service.validate`.
"""

from __future__ import annotations

import re

REFERENCE_YEAR = 2008  # the year the catalog describes (README, "The catalog")
OPENED_ON = "2008-10-28"  # the center's trial run began; the default effective date of its first matters

# title (inside 《》) -> year of the version in force in 2008, or of its making when later
LAW_YEARS: dict[str, int] = {
    # laws (法律)
    "中华人民共和国行政许可法": 2003,
    "中华人民共和国物权法": 2007,
    "中华人民共和国城市房地产管理法": 1994,
    "中华人民共和国价格法": 1997,
    "中华人民共和国政府采购法": 2002,
    "中华人民共和国会计法": 1999,
    "中华人民共和国环境影响评价法": 2002,
    "中华人民共和国固体废物污染环境防治法": 2004,
    "中华人民共和国水污染防治法": 2008,
    "中华人民共和国大气污染防治法": 2000,
    "中华人民共和国环境噪声污染防治法": 1996,
    "中华人民共和国劳动法": 1994,
    "中华人民共和国劳动合同法": 2007,
    "中华人民共和国就业促进法": 2007,
    "中华人民共和国民办教育促进法": 2002,
    "中华人民共和国执业医师法": 1998,
    "中华人民共和国母婴保健法": 1994,
    "中华人民共和国传染病防治法": 2004,
    "中华人民共和国食品卫生法": 1995,
    "中华人民共和国工会法": 2001,
    "中华人民共和国民法通则": 1986,
    "中华人民共和国节约能源法": 2007,
    "中华人民共和国环境保护法": 1989,
    # administrative regulations (行政法规) and State Council decisions
    "国务院对确需保留的行政审批项目设定行政许可的决定": 2004,
    "国务院关于投资体制改革的决定": 2004,
    "国务院关于工人退休、退职的暂行办法": 1978,
    "城市市容和环境卫生管理条例": 1992,
    "城市道路管理条例": 1996,
    "城市绿化条例": 1992,
    "城市房地产开发经营管理条例": 1998,
    "城市房屋拆迁管理条例": 2001,
    "物业管理条例": 2003,
    "建设项目环境保护管理条例": 1998,
    "危险废物经营许可证管理办法": 2004,
    "放射性同位素与射线装置安全和防护条例": 2005,
    "失业保险条例": 1999,
    "社会保险费征缴暂行条例": 1999,
    "工伤保险条例": 2003,
    "中华人民共和国民办教育促进法实施条例": 2004,
    "公共场所卫生管理条例": 1987,
    "医疗机构管理条例": 1994,
    "护士条例": 2008,
    "中华人民共和国母婴保健法实施办法": 2001,
    "娱乐场所管理条例": 2006,
    "互联网上网服务营业场所管理条例": 2002,
    "营业性演出管理条例": 2005,
    "出版管理条例": 2001,
    "印刷业管理条例": 2001,
    "音像制品管理条例": 2001,
    # rules and normative documents (规章、规范性文件)
    "城市建筑垃圾管理规定": 2005,
    "城市生活垃圾管理办法": 2007,
    "城市排水许可管理办法": 2006,
    "会计从业资格管理办法": 2005,
    "代理记账管理办法": 2005,
    "政府采购代理机构资格认定办法": 2005,
    "政府采购货物和服务招标投标管理办法": 2004,
    "行政事业性收费和政府性基金票据管理规定": 1998,
    "企业投资项目核准暂行办法": 2004,
    "外商投资项目核准暂行管理办法": 2004,
    "收费许可证管理办法": 1998,
    "扣押、追缴、没收物品估价管理办法": 1997,
    "房屋登记办法": 2008,
    "城市商品房预售管理办法": 1994,
    "城市房屋租赁管理办法": 1995,
    "房屋权属登记信息查询暂行办法": 2006,
    "城市房屋白蚁防治管理规定": 1999,
    "廉租住房保障办法": 2007,
    "经济适用住房管理办法": 2007,
    "住宅专项维修资金管理办法": 2007,
    "物业服务企业资质管理办法": 2004,
    "房地产开发企业资质管理规定": 2000,
    "建设项目竣工环境保护验收管理办法": 2001,
    "放射性同位素与射线装置安全许可管理办法": 2006,
    "职业技能鉴定规定": 1993,
    "就业服务与就业管理规定": 2007,
    "失业保险金申领发放办法": 2000,
    "社会保险登记管理暂行办法": 1999,
    "关于企业实行不定时工作制和综合计算工时工作制的审批办法": 1994,
    "关于制止和纠正违反国家规定办理企业职工提前退休有关问题的通知": 1999,
    "关于建立劳动用工备案制度的通知": 2006,
    "人才市场管理规定": 2001,
    "公共场所卫生管理条例实施细则": 1991,
    "医疗机构管理条例实施细则": 1994,
    "放射诊疗管理规定": 2006,
    "医师执业注册暂行办法": 1999,
    "护士执业注册管理办法": 2008,
    "生活饮用水卫生监督管理办法": 1996,
    "消毒管理办法": 2002,
    "食品卫生许可证管理办法": 2005,
    "营业性演出管理条例实施细则": 2005,
    "出版物市场管理规定": 2003,
    "音像制品批发、零售、出租管理办法": 2006,
    "工会法律援助办法": 2008,
    "中国工会章程": 2008,
    "中国共产党章程": 2007,
    "中共中央组织部关于加强和改进流动党员管理工作的意见": 2006,
    # made after the reference year: citing one of these is refused even without a year in the text
    "中华人民共和国社会保险法": 2010,
    "中华人民共和国食品安全法": 2009,
    "中华人民共和国医师法": 2021,
    "企业投资项目核准和备案管理条例": 2016,
    "企业投资项目核准和备案管理办法": 2017,
    "外商投资项目核准和备案管理办法": 2014,
    "政府投资条例": 2019,
    "固定资产投资项目节能审查办法": 2016,
    "价格认定规定": 2015,
    "城镇排水与污水处理条例": 2013,
    "城镇污水排入排水管网许可管理办法": 2015,
    "财政票据管理办法": 2012,
    "政府采购非招标采购方式管理办法": 2013,
    "商品房屋租赁管理办法": 2010,
    "公共租赁住房管理办法": 2012,
    "建设项目环境影响登记表备案管理办法": 2016,
    "劳务派遣行政许可实施办法": 2013,
    "就业补助资金管理办法": 2017,
    "人力资源市场暂行条例": 2018,
    "全民健身条例": 2009,
    "经营高危险性体育项目许可管理办法": 2013,
    "娱乐场所管理办法": 2013,
    "中国共产党党员教育管理工作条例": 2019,
    "国家中长期人才发展规划纲要（2010-2020年）": 2010,
}

_TITLE = re.compile(r"《([^《》]+)》")
# a year: `2007年`, `〔2004〕` / `[2004]` (a document number's year), or the first year of `2010-2020年`;
# never a bare number (`〔1998〕2084号`: 2084 is a serial)
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d\d)(?=\s*年|[〕\]］]|\s*[-－—–~至]\s*(?:19|20)\d\d\s*年)")


def citation_year(text: str) -> int | None:
    """The year of one citation (see the module's doc); None when it cannot be told."""
    years = [int(y) for y in _YEAR.findall(_TITLE.sub("", text))]
    if years:
        return max(years)
    known = [LAW_YEARS[t] for t in _TITLE.findall(text) if t in LAW_YEARS]
    years_in_titles = [int(y) for t in _TITLE.findall(text) for y in _YEAR.findall(t)]
    candidates = known + years_in_titles
    return max(candidates) if candidates else None


def titles(text: str) -> list[str]:
    return _TITLE.findall(text)
