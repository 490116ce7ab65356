"""Reads at scale (`tools/bench --scale N`): a PostgreSQL database of N cases cloned from real ones, then the
figures a hall's day leans on — task lists, posts, the case list, statistics, warnings, the supervision sweep and
the server processes' memory — each beside its target.

The database is kept (`tongban_scale_<N>` beside the server's own) and reused on the next run; `--rebuild` makes it
again, `--drop` drops it after the run. How it is made: the replay (tools/replay) works a few weeks of the hall's
cases through the app into a seed database (`tongban_scale_seed`, kept too); a copy of it (CREATE DATABASE …
TEMPLATE) then gets those cases cloned in SQL, every table a case owns, with fresh ids, received over two years.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import http.client
import math
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SEED_DB = "tongban_scale_seed"
SEED_DAYS, SEED_PER_DAY = 20, 30  # ~600 real cases: every kind of matter, open and ended
YEARS_DAYS = 730  # ended clones are received over the two years before the seed
OPEN_SHARE = 0.10  # clones of open cases: this share of all cases, received in the last weeks
RECENT_DAYS = 60
TABLES_NOT_CLONED = {"case_intake"}  # handled apart (a unique digest), see _clone


@dataclasses.dataclass
class Figure:
    name: str
    value: float
    target: float | None  # None: a figure to know, with no target of its own
    unit: str = "ms"

    @property
    def ok(self) -> bool:
        return self.target is None or self.value <= self.target

    def line(self) -> str:
        value = f"{self.value:,.0f} {self.unit}" if self.unit == "MB" else f"{self.value:,.1f} {self.unit}"
        if self.target is None:
            return f"{self.name:<66} {value:>12}"
        return f"{self.name:<66} {value:>12}   ≤ {self.target:,.0f} {self.unit:<3} {'PASS' if self.ok else 'FAIL'}"


# -- databases ----------------------------------------------------------------------------------------------------
def admin_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url.replace("postgres://", "postgresql://", 1)).set(drivername="postgresql").render_as_string(
        hide_password=False)


def db_url(url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url.replace("postgres://", "postgresql://", 1)).set(
        drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)


def exists(url: str, name: str) -> bool:
    import psycopg

    with psycopg.connect(admin_url(url), autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


def drop(url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- the seed: real cases through the app ---------------------------------------------------------------------------
def build_seed(url: str) -> None:
    """The replay's last `SEED_DAYS` working days up to now, worked through the app (in process) into `SEED_DB`."""
    import psycopg

    from tools.replay import plan as plans
    from tools.replay.demo import recent_days
    from tools.replay.driver import Api
    from tools.replay.engine import Options, Replay
    from tools.replay.run import Clock, Jobs, make_app, prepare, revoke_tokens
    from tools.replay.truth import SHANGHAI

    with psycopg.connect(admin_url(url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{SEED_DB}_new"')
    target = db_url(url, f"{SEED_DB}_new")
    now = dt.datetime.now(dt.UTC)
    days = recent_days(now.astimezone(SHANGHAI).date(), SEED_DAYS)
    clock = Clock(dt.datetime.combine(days[0], dt.time(8, 0), SHANGHAI).astimezone(dt.UTC))
    app = make_app(target, clock)
    hall = prepare(app)
    # livelier than the trial (as the demo): late steps, red lights and warnings are part of what is read
    rates = dataclasses.replace(plans.Rates(), late=0.08, special_overrun=0.12, late_delivery=0.02, extended=0.03)
    plan = plans.make(cases=SEED_PER_DAY * len(days), days=days, seed=2026, rates=rates)
    log(f"seed: replaying {len(plan.cases)} cases over {days[0]} – {days[-1]} through the app")
    try:
        replay = Replay(plan, Api(hall, client=app.test_client()), Jobs(app), clock,
                        Options(drain=False, stop_at=now, progress=sys.stderr.isatty())).run()
    finally:
        revoke_tokens(app)
    from app.extensions import db

    with app.app_context():
        db.engine.dispose()
    log(f"seed: {sum(1 for c in replay.cases.values() if c.id)} cases, {len(replay.errors)} unexpected answers")
    with psycopg.connect(admin_url(url), autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{SEED_DB}_new" RENAME TO "{SEED_DB}"')


# -- the clone: N cases in SQL ----------------------------------------------------------------------------------------
_SKIP_COLUMNS = {"id"}  # serial keys: fresh from their sequences (process_instance and user_task are handled)


def _case_tables(conn) -> list[str]:
    """Every table holding rows of a case (an instance_id column) or of its tasks (task_candidate), parents first."""
    found = [r[0] for r in conn.execute(
        "SELECT DISTINCT table_name FROM information_schema.columns WHERE table_schema = 'public' "
        "AND column_name = 'instance_id' AND table_name NOT LIKE 'tpl_%' ORDER BY 1")]
    first = ["process_instance", "user_task"]
    derived = ["case_party"]  # written by user_task's triggers as the tasks are cloned
    return first + [t for t in found if t not in first + derived] + ["task_candidate"]


def _expression(table: str, column: str, kind: str) -> str | None:
    """What a clone's column holds: ids mapped (md5 of the template's id and the copy's number, the same function
    everywhere, so references stay consistent), times moved by the copy's shift, unique texts made unique."""
    c = f's."{column}"'
    if table == "process_instance" and column == "id":
        return "m.new_id"
    if column == "instance_id":
        return "m.new_id"
    if (table == "user_task" and column == "id") or column.endswith("task_id"):
        return f"CASE WHEN {c} IS NULL THEN NULL ELSE md5({c} || ':' || m.k) END"
    if column in _SKIP_COLUMNS:
        return None
    if (table, column) in {("hall_case", "case_number"), ("hall_case", "business_key"), ("document", "number"),
                           ("process_instance", "business_key")}:
        return f"{c} || '-' || m.k"
    if (table, column) == ("case_intake", "query_code_digest"):
        return f"CASE WHEN {c} IS NULL THEN NULL ELSE md5({c} || m.k) || md5(m.k || {c}) END"
    if kind.startswith("timestamp"):
        return f"{c} - make_interval(days => m.shift)"
    if kind == "date":
        return f"{c} - m.shift"
    return c


def clone(url: str, name: str, total: int) -> None:
    """Clone the seed's cases into `name` until it holds about `total` cases; about `OPEN_SHARE` of them open."""
    import psycopg

    with psycopg.connect(db_url(url, name).replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '256MB'")
        tables = _case_tables(conn)
        columns = {t: [(r[0], r[1]) for r in conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'public' AND "
            "table_name = %s ORDER BY ordinal_position", (t,))] for t in tables}
        for t in tables:  # the templates, apart: reading them stays as cheap as the seed, however big the tables
            source = (f"SELECT s.* FROM {t} s JOIN user_task u ON u.id = s.task_id" if t == "task_candidate"
                      else f"SELECT * FROM {t}")
            conn.execute(f"CREATE TEMP TABLE tpl_{t} AS {source}")
        conn.execute("ALTER TABLE tpl_task_candidate ADD COLUMN instance_id varchar(32)")
        conn.execute("UPDATE tpl_task_candidate c SET instance_id = u.instance_id FROM tpl_user_task u "
                     "WHERE u.id = c.task_id")
        seeds = conn.execute("SELECT count(*) FILTER (WHERE state IN ('running', 'error', 'suspended')), count(*) "
                             "FROM tpl_process_instance").fetchone()
        open_seeds, all_seeds = seeds[0], seeds[1]
        want = max(0, total - all_seeds)
        open_copies = math.ceil(want * OPEN_SHARE / max(open_seeds, 1))
        ended_copies = math.ceil(want * (1 - OPEN_SHARE) / max(all_seeds - open_seeds, 1))
        # the map: a row per clone. Shifts are whole weeks (weekdays kept): ended cases over two years back,
        # open ones within the last weeks (so some are overdue when the import lands: the catch-up sweep's work)
        conn.execute(f"""
            CREATE TEMP TABLE clone_map AS
            SELECT old_id, k, md5(old_id || ':' || k) AS new_id,
                   7 * (abs(hashtext(old_id || k)) % (CASE WHEN is_open THEN {RECENT_DAYS // 7}
                                                      ELSE {YEARS_DAYS // 7} END + 1)) AS shift,
                   row_number() OVER (ORDER BY k, old_id) AS n
            FROM (SELECT id AS old_id, state IN ('running', 'error', 'suspended') AS is_open FROM tpl_process_instance)
                 p
            CROSS JOIN LATERAL generate_series(1, CASE WHEN is_open THEN {open_copies} ELSE {ended_copies} END) k""")
        conn.execute(f"DELETE FROM clone_map WHERE n > {want}")
        conn.execute("CREATE INDEX ON clone_map (n)")
        conn.execute("CREATE INDEX ON clone_map (old_id)")
        conn.execute("ANALYZE clone_map")
        log(f"clone: {want:,} clones of {all_seeds} seed cases ({open_seeds} open) into {name}")
        chunk = 20_000
        began = time.monotonic()
        for start in range(0, want, chunk):
            with conn.transaction():
                conn.execute(f"CREATE TEMP TABLE m AS SELECT * FROM clone_map WHERE n > {start} AND n <= "
                             f"{start + chunk}")
                conn.execute("ANALYZE m")
                for t in tables:
                    names, exprs = [], []
                    for column, kind in columns[t]:
                        expr = _expression(t, column, kind)
                        if expr is not None:
                            names.append(f'"{column}"')
                            exprs.append(expr)
                    conn.execute(f"INSERT INTO {t} ({', '.join(names)}) SELECT {', '.join(exprs)} "
                                 f"FROM tpl_{t} s JOIN m ON m.old_id = s.{'id' if t == 'process_instance' else 'instance_id'}")
                conn.execute("DROP TABLE m")
            done = min(start + chunk, want)
            rate = done / (time.monotonic() - began)
            log(f"clone: {done:,} of {want:,} ({rate:,.0f} cases/s, {(want - done) / rate / 60:.1f} min left)")
        log("clone: VACUUM ANALYZE")
        for t in tables:
            conn.execute(f"VACUUM (ANALYZE) {t}")
        conn.execute("ANALYZE")


def build(url: str, total: int, rebuild: bool) -> str:
    """The database of `total` cases: made once, then reused; the seed too."""
    name = f"tongban_scale_{total}"
    if exists(url, name) and not rebuild:
        log(f"build: {name} exists (kept from an earlier run; --rebuild makes it again)")
        return name
    drop(url, name)
    drop(url, f"{name}_new")  # a build stopped half way
    if not exists(url, SEED_DB) or rebuild == "all":
        drop(url, SEED_DB)
        build_seed(url)
    import psycopg

    with psycopg.connect(admin_url(url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}_new" TEMPLATE "{SEED_DB}"')
    clone(url, f"{name}_new", total)
    snapshot_import(url, f"{name}_new")
    with psycopg.connect(admin_url(url), autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}_new" RENAME TO "{name}"')
    return name


# -- the import's state, so that each run's catch-up sweep has the same work ---------------------------------------
def snapshot_import(url: str, name: str) -> None:
    """Right after the clone: what the supervision sweep will change (lights, warnings, their audit entries), kept
    in `bench_import_*` tables so that `reset_import` can put it back before a catch-up sweep is measured."""
    import psycopg

    with psycopg.connect(db_url(url, name).replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_import_case, bench_import_task, bench_import_warning, "
                     "bench_import_marks")
        conn.execute("CREATE TABLE bench_import_case AS SELECT instance_id, light FROM hall_case WHERE is_open")
        conn.execute("CREATE TABLE bench_import_task AS SELECT h.task_id, h.light FROM hall_task h "
                     "JOIN user_task u ON u.id = h.task_id WHERE u.state = 'open'")
        conn.execute("CREATE TABLE bench_import_warning AS SELECT id FROM supervision_warning WHERE state = 'open'")
        conn.execute("CREATE TABLE bench_import_marks AS SELECT (SELECT max(id) FROM supervision_warning) AS warning, "
                     "(SELECT max(id) FROM audit_entry) AS audit")


def reset_import(conn) -> int:
    """Lights and warnings as they were when the import landed (an earlier run's sweeps undone)."""
    marks = conn.execute("SELECT warning, audit FROM bench_import_marks").fetchone()
    conn.execute("UPDATE hall_case h SET light = b.light FROM bench_import_case b "
                 "WHERE b.instance_id = h.instance_id AND h.light IS DISTINCT FROM b.light")
    conn.execute("UPDATE hall_task h SET light = b.light FROM bench_import_task b "
                 "WHERE b.task_id = h.task_id AND h.light IS DISTINCT FROM b.light")
    # as after migration 0026: the catch-up looks at every open case and step once (a step's watch moment too)
    conn.execute("UPDATE hall_case SET look_on = DATE '2000-01-01' WHERE is_open "
                 "AND look_on IS DISTINCT FROM DATE '2000-01-01'")
    conn.execute("UPDATE hall_task SET look_on = DATE '2000-01-01', watch_from = TIMESTAMPTZ '2000-01-01 00:00+00' "
                 "WHERE is_open "
                 "AND (look_on IS DISTINCT FROM DATE '2000-01-01' OR watch_from IS DISTINCT FROM TIMESTAMPTZ '2000-01-01 00:00+00')")
    gone = conn.execute("DELETE FROM supervision_warning WHERE id > %s", (marks[0],)).rowcount
    conn.execute("UPDATE supervision_warning w SET state = 'open', closed_at = NULL, note = NULL "
                 "FROM bench_import_warning b WHERE b.id = w.id AND w.state <> 'open'")
    conn.execute("DELETE FROM audit_entry WHERE id > %s", (marks[1],))
    return gone


# -- measuring ---------------------------------------------------------------------------------------------------------
ROLES = {  # who, and the post whose task list they open
    "window clerk (wangfang, 卫生局受理A岗)": ("wangfang", "卫生局受理A岗"),
    "comprehensive window (zhoumin, 综合受理A岗)": ("zhoumin", "综合受理A岗"),
    "department supervisor (xieming, 卫生局)": ("xieming", "卫生局审核岗"),
    "center supervisor (yanliqun)": ("yanliqun", "综合受理A岗"),
    "admin": ("admin", "综合受理A岗"),
}
SUPERVISING = {"xieming", "yanliqun", "admin"}
TOKEN_LABEL = "bench_scale"
TIMEOUT = 60  # seconds: a request still running then is counted as taking this long


class Client:
    """One keep-alive connection (http.client: the client should cost little next to the server)."""

    def __init__(self, port: int, token: str) -> None:
        self.port, self.headers = port, {"Authorization": f"Bearer {token}"}
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)

    def get(self, path: str) -> tuple[float, int, bytes]:
        """The time of one request; a request over TIMEOUT counts as TIMEOUT (the figure is printed as ≥ it)."""
        began = time.perf_counter()
        try:
            self.connection.request("GET", path, headers=self.headers)
            response = self.connection.getresponse()
            body = response.read()
        except TimeoutError:
            self.connection.close()
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
            return TIMEOUT * 1000, 200, b""
        return (time.perf_counter() - began) * 1000, response.status, body


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


def timed(client: Client, path: str, target: float, requests: int) -> float:
    """p95 of `requests` sequential requests (after one warm-up); a figure far over its target after 5 requests
    stops there (its p95 is already known to fail, and 50 of them would take minutes)."""
    first, status, body = client.get(path)
    if first >= TIMEOUT * 1000:
        return first
    if status != 200:
        raise SystemExit(f"GET {path}: {status} {body[:300]!r}")
    samples: list[float] = []
    for _ in range(requests):
        samples.append(client.get(path)[0])
        if (len(samples) == 5 and min(samples) > 3 * target) or samples[-1] >= TIMEOUT * 1000:
            break
    return p95(samples)


def tokens(url: str) -> dict[str, str]:
    os.environ["DATABASE_URL"] = url
    from app import create_app
    from app.extensions import db
    from app.people.auth import issue_token
    from app.people.models import ApiToken, User

    app = create_app({"SCHEDULER_ENABLED": False, "LOG_LEVEL": "WARNING"})
    out = {}
    with app.app_context():
        db.session.execute(db.delete(ApiToken).where(ApiToken.label == TOKEN_LABEL))
        for username, _ in ROLES.values():
            user = db.session.scalar(db.select(User).where(User.username == username))
            out[username] = issue_token(user, label=TOKEN_LABEL)
        db.session.commit()
        db.engine.dispose()
    return out


def start_server(url: str, port: int) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "TONGBAN_SCHEDULER": "off", "TONGBAN_LOG_LEVEL": "WARNING",
           "TONGBAN_CONTROL_SOCKET": "off"}
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2",
                               "--threads", "2", "--log-level", "warning", "--no-control-socket",
                               "app.wsgi:application"], cwd=ROOT, env=env)
    for _ in range(600):
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.1)
        if server.poll() is not None:
            break
    server.kill()
    raise SystemExit("bench: the server did not start")


def rss_mb(server: subprocess.Popen) -> list[float]:
    """Resident memory of each worker process (children of the gunicorn arbiter), in MB."""
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    out = []
    for pid in children:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                out.append(int(line.split()[1]) / 1024)
    return out


def http_figures(url: str, requests: int, only: list[str] | None = None) -> list[Figure]:
    from tools.bench import free_port

    keys = tokens(url)
    port = free_port()
    server = start_server(url, port)
    figures: list[Figure] = []
    today = dt.date.today()
    month = f"from={today.replace(day=1).isoformat()}&to={today.isoformat()}"
    years = f"from={(today - dt.timedelta(days=730)).isoformat()}&to={today.isoformat()}"
    try:
        for label, (username, post) in ROLES.items():
            if only and username not in only:
                continue
            client = Client(port, keys[username])
            from urllib.parse import quote

            checks = [(f"task list of {post}", f"/api/v1/tasks?post={quote(post)}", 20),
                      ("GET /posts", "/api/v1/posts", 50),
                      ("GET /instances (first page)", "/api/v1/instances", 30)]
            if username in SUPERVISING:
                checks += [("supervision warnings", "/api/v1/supervision/warnings", 50),
                           ("statistics summary, one month", f"/api/v1/statistics/summary?{month}", 1000),
                           ("statistics by matter, one month", f"/api/v1/statistics/matters?{month}", 1000),
                           ("statistics summary, two years", f"/api/v1/statistics/summary?{years}", 1000),
                           ("statistics by matter, two years", f"/api/v1/statistics/matters?{years}", 1000),
                           ("statistics by window, two years", f"/api/v1/statistics/windows?{years}", 1000)]
            for name, path, target in checks:
                figures.append(Figure(f"{label}: {name}", timed(client, path, target, requests), target))
                print(figures[-1].line(), flush=True)
        for n, value in enumerate(rss_mb(server), 1):
            figures.append(Figure(f"server process {n}: RSS after the two-year reports", value, 250, "MB"))
            print(figures[-1].line(), flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return figures


def sweep_figures(url: str, steady_runs: int = 5) -> list[Figure]:
    """The supervision sweep in this process: the catch-up after the import (its lights and warnings put back as
    the clone left them), then steady sweeps. A transaction's length is timed from its first statement to its
    commit: the longest is how long the catch-up may hold a case's row lock."""
    import psycopg
    from sqlalchemy import event

    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
        reset_import(conn)
    os.environ["DATABASE_URL"] = url
    from app import create_app
    from app.extensions import db
    from app.hall.supervision import service as supervision

    app = create_app({"SCHEDULER_ENABLED": False, "LOG_LEVEL": "WARNING"})
    longest, held = [0.0], [0.0]
    opened: dict[int, float] = {}
    first_write: dict[int, float] = {}

    with app.app_context():
        @event.listens_for(db.engine, "begin")
        def _begin(conn) -> None:
            opened[id(conn)] = time.perf_counter()

        @event.listens_for(db.engine, "before_cursor_execute")
        def _statement(conn, cursor, statement, parameters, context, executemany) -> None:
            text = statement.lstrip()[:7].upper()
            if id(conn) not in first_write and (text.startswith(("UPDATE", "INSERT", "DELETE"))
                                                or "FOR UPDATE" in statement):
                first_write[id(conn)] = time.perf_counter()

        @event.listens_for(db.engine, "commit")
        def _commit(conn) -> None:
            began, wrote = opened.pop(id(conn), None), first_write.pop(id(conn), None)
            if began is not None:
                longest[0] = max(longest[0], time.perf_counter() - began)
            if wrote is not None:
                held[0] = max(held[0], time.perf_counter() - wrote)

        began = time.perf_counter()
        counts = supervision.sweep()  # the first sweep after the import is the catch-up
        catch_up = (time.perf_counter() - began) * 1000
        log(f"catch-up sweep: {counts}")
        catch_up_lock, catch_up_transaction = held[0] * 1000, longest[0] * 1000
        # the first sweep after it walks (and PostgreSQL marks dead) the index entries the catch-up's writes left
        began = time.perf_counter()
        supervision.sweep()
        settling = (time.perf_counter() - began) * 1000
        steady = []
        for _ in range(steady_runs):
            began = time.perf_counter()
            supervision.sweep()
            steady.append((time.perf_counter() - began) * 1000)
        # the next local day's first sweep: the rows whose date it is (lights turning, rules' deadlines)
        from app.clock import SHANGHAI, now

        tomorrow = (now().astimezone(SHANGHAI) + dt.timedelta(days=1)).replace(hour=0, minute=5)
        began = time.perf_counter()
        next_day = supervision.sweep(tomorrow)
        next_day_ms = (time.perf_counter() - began) * 1000
        log(f"next day's first sweep: {next_day}")
        db.session.remove()
        db.engine.dispose()
    figures = [Figure("supervision sweep, steady (max of 5)", max(steady), 200),
               Figure("the first sweep after the catch-up (its dead index entries)", settling, None),
               Figure(f"catch-up sweep after the import, whole ({counts.get('case_lights', 0):,} case and "
                      f"{counts.get('step_lights', 0):,} step lights)", catch_up / 1000, None, "s"),
               Figure("catch-up sweep: longest first write to commit (row locks held)", catch_up_lock, 1000),
               Figure("catch-up sweep: longest transaction (its reads included)", catch_up_transaction, None),
               Figure(f"the next day's first sweep ({next_day.get('case_lights', 0):,} case and "
                      f"{next_day.get('step_lights', 0):,} step lights change)", next_day_ms, None)]
    for figure in figures:
        print(figure.line(), flush=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(prog="tools/bench --scale", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, default=1_000_000, metavar="N", help="cases (default 1,000,000)")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                        help="a PostgreSQL server URL (default: DATABASE_URL); the database is made beside it")
    parser.add_argument("--rebuild", action="store_true", help="make the database again even if it exists")
    parser.add_argument("--rebuild-seed", action="store_true", help="…and the seed's real cases too")
    parser.add_argument("--drop", action="store_true", help="drop the database after the run")
    parser.add_argument("--requests", type=int, default=50, help="requests per figure (p95 over them)")
    parser.add_argument("--only", choices=("http", "sweep", "build"), default=None, help="one part of the run")
    parser.add_argument("--roles", default=None, help="usernames to measure, comma-separated (default: all five)")
    args = parser.parse_args()
    from tools.throwaway_db import is_postgres

    if not is_postgres(args.database_url):
        raise SystemExit("tools/bench --scale needs PostgreSQL: --database-url postgresql://… (or DATABASE_URL)")
    os.environ.setdefault("TONGBAN_LOG_LEVEL", "WARNING")
    name = build(args.database_url, args.scale, "all" if args.rebuild_seed else args.rebuild)
    url = db_url(args.database_url, name)
    migrate(url)
    figures: list[Figure] = []
    try:
        if args.only in (None, "sweep"):
            figures += sweep_figures(url)
        if args.only in (None, "http"):
            figures += http_figures(url, args.requests, args.roles.split(",") if args.roles else None)
    finally:
        if args.drop:
            drop(args.database_url, name)
    if figures:
        print(f"\n{args.scale:,} cases ({name}); p95 over {args.requests} sequential keep-alive requests; "
              f"2 gunicorn workers")
        for figure in figures:
            print(figure.line())
        targeted = [f for f in figures if f.target is not None]
        failed = [f for f in targeted if not f.ok]
        print(f"{len(targeted) - len(failed)} PASS, {len(failed)} FAIL")


def migrate(url: str) -> None:
    """The built database brought to the code's migrations (a database built before a new one is reused)."""
    os.environ["DATABASE_URL"] = url
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db

    app = create_app({"SCHEDULER_ENABLED": False, "LOG_LEVEL": "WARNING"})
    with app.app_context():
        before = db.session.scalar(db.text("SELECT version_num FROM alembic_version"))
        db.session.remove()
        upgrade(directory=str(ROOT / "migrations"))
        after = db.session.scalar(db.text("SELECT version_num FROM alembic_version"))
        db.session.remove()
        from app.tasks import service as tasks

        tasks.fold_post_tally()  # the clone's tasks went in through the tally's triggers: as the scheduler would
        db.session.remove()
        db.engine.dispose()
    if after != before:  # a data migration leaves stale statistics and visibility maps: as an operator would
        import psycopg

        log(f"migrated {before} -> {after}: VACUUM (ANALYZE)")
        with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute("VACUUM (ANALYZE)")


if __name__ == "__main__":
    main()
