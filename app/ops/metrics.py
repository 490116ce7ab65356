"""Prometheus metrics (prometheus-client): request counts and latencies counted in the process, and the state
of the hall read from the database at scrape time with cheap indexed COUNT queries.

The database figures (cases, open tasks by post, timers, incidents, scheduler lag) are the same whichever
worker answers. Request counters are per process: with several gunicorn workers set PROMETHEUS_MULTIPROC_DIR
(an empty folder per server) and every worker's counts are added up at scrape time (prometheus-client's
multiprocess mode), or scrape each worker.
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from flask import current_app, g, request
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from ..clock import now
from ..extensions import db

REGISTRY = CollectorRegistry()
REQUESTS = Counter("tongban_http_requests", "HTTP requests answered", ["method", "endpoint", "status"],
                   registry=REGISTRY)
LATENCY = Histogram("tongban_http_request_duration_seconds", "HTTP request latency", ["method", "endpoint"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10), registry=REGISTRY)


def observe(response) -> None:
    started = getattr(g, "tongban_t0", None)  # set by ops.views before every request
    if started is None:
        return
    endpoint = request.url_rule.rule if request.url_rule is not None else "unmatched"  # bounded label values
    REQUESTS.labels(request.method, endpoint, str(response.status_code)).inc()
    LATENCY.labels(request.method, endpoint).observe(time.perf_counter() - started)


class DatabaseCollector:
    """Gauges read at scrape time; every query is a COUNT or MIN over an indexed column."""

    def collect(self):
        from ..definitions.models import ProcessDefinition
        from ..instances.external_models import ExternalTask
        from ..instances.models import STATES, ProcessInstance
        from ..tasks.models import UserTask
        from ..timers.models import Timer

        session = db.session
        cases = dict(session.execute(sa.select(ProcessInstance.state, sa.func.count())
                                     .group_by(ProcessInstance.state)).all())
        family = GaugeMetricFamily("tongban_cases", "cases by state", labels=["state"])
        for state in STATES:
            family.add_metric([state], cases.get(state, 0))
        yield family
        yield CounterMetricFamily("tongban_cases_started", "cases ever started", value=sum(cases.values()))
        yield CounterMetricFamily("tongban_cases_completed", "cases completed", value=cases.get("completed", 0))

        tasks = GaugeMetricFamily("tongban_open_tasks", "open user tasks by post", labels=["post"])
        for post, count in session.execute(sa.select(UserTask.post, sa.func.count())
                                           .where(UserTask.state == "open").group_by(UserTask.post)):
            tasks.add_metric([post or ""], count)
        yield tasks

        at = now()
        waiting = session.scalar(sa.select(sa.func.count()).select_from(Timer).where(Timer.state == "waiting"))
        due = (sa.select(sa.func.count(), sa.func.min(Timer.due_at))
               .join(ProcessInstance, ProcessInstance.id == Timer.instance_id)
               .where(Timer.state == "waiting", Timer.due_at <= at, ProcessInstance.state == "running"))
        overdue, oldest = session.execute(due).one()
        yield GaugeMetricFamily("tongban_timers_waiting", "timers waiting", value=waiting)
        yield GaugeMetricFamily("tongban_timers_overdue", "timers due and not yet fired", value=overdue)
        if oldest is not None and oldest.tzinfo is None:
            from datetime import UTC
            oldest = oldest.replace(tzinfo=UTC)
        lag = (at - oldest).total_seconds() if oldest is not None else 0.0
        yield GaugeMetricFamily("tongban_scheduler_lag_seconds", "how long the oldest due timer has waited",
                                value=max(lag, 0.0))

        failed = session.scalar(sa.select(sa.func.count()).select_from(Timer).where(Timer.state == "failed"))
        open_external = ExternalTask.state == "open"
        locked = sa.and_(open_external, ExternalTask.lock_expiration > at, sa.func.coalesce(ExternalTask.retries, 1) > 0)
        total, held, stuck = session.execute(sa.select(
            sa.func.count(), sa.func.count().filter(locked), sa.func.count().filter(ExternalTask.retries == 0))
            .select_from(ExternalTask).where(open_external)).one()
        external_tasks = GaugeMetricFamily("tongban_external_tasks", "open external tasks: waiting for a worker, "
                                           "locked by one, without retries (incidents)", labels=["state"])
        external_tasks.add_metric(["waiting"], total - held - stuck)
        external_tasks.add_metric(["locked"], held)
        external_tasks.add_metric(["no_retries"], stuck)
        yield external_tasks
        incidents = GaugeMetricFamily("tongban_incidents", "open incidents", labels=["kind"])
        incidents.add_metric(["timer"], failed)
        incidents.add_metric(["case_error"], cases.get("error", 0))
        incidents.add_metric(["external_task"], stuck)

        from ..instances.step_incidents import open_query  # steps refused for a reason no caller can fix

        refused = session.scalar(sa.select(sa.func.count()).select_from(open_query().subquery()))
        incidents.add_metric(["refused_step"], refused)
        yield incidents

        definitions = GaugeMetricFamily("tongban_definition_versions", "definition versions by state",
                                        labels=["state"])
        for state, count in session.execute(sa.select(ProcessDefinition.state, sa.func.count())
                                            .group_by(ProcessDefinition.state)):
            definitions.add_metric([state], count)
        yield definitions

        scheduler = current_app.extensions.get("tongban_scheduler")
        yield GaugeMetricFamily("tongban_scheduler_running", "this process's timer scheduler is running",
                                value=1 if scheduler is not None and scheduler.running else 0)


_DATABASE = CollectorRegistry()
_DATABASE.register(DatabaseCollector())


def render() -> bytes:
    from flask import current_app

    if current_app.config.get("PROMETHEUS_MULTIPROC_DIR"):
        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged)
        requests = generate_latest(merged)
    else:
        requests = generate_latest(REGISTRY)
    return requests + generate_latest(_DATABASE)
