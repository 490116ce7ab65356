"""The window's view of a case (办件): finding cases (办件查询), the applicant library (申请人库), corrections at the
window (申请人更正, 撤件) — read through `fields`, so where the hall keeps its columns is said in one place."""
