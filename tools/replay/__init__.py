"""The trial replayed (issue 20): the seed's two months from 2008-10-28 — 7,901 cases at 23 windows — driven
through the HTTP API on a moved clock, then checked against what the replay itself knows it did.

- `hall`: the hall of processes/hall.yaml, the 90 matters' records and what their diagrams declare;
- `driver`: the API calls a clerk makes (the Flask test client or a real server) and valid form data;
- `workdays`: the replay's own working-day arithmetic (chinese_calendar), apart from the app's;
- `plan`: who comes when, with which matter, and how each case should go;
- `truth`: the replay's own ledger — outcomes, due dates, on-time verdicts, lights and the warnings they raise;
- `engine`: the clock, the clerks' actions in time order, the scheduler's jobs at each tick;
- `report`: Markdown and PNG charts (`charts`), with every difference from the API named.

`tools/simulate` runs it; `tools/serve --demo` seeds a few weeks of it (see README, "Replay and demo").
"""
