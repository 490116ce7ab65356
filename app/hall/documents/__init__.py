"""Notices (文书): numbered, dated documents a case's steps issue, stored with the case and rendered as PDF."""
