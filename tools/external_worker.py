"""A small external-task worker with Camunda's own Python client: issues electronic licences (电子证照).

    pip install camunda-external-task-client-python3 pydantic
    TONGBAN_URL=http://127.0.0.1:5000 TONGBAN_WORKER_TOKEN=tb_... python tools/external_worker.py [TOPIC]

It subscribes to the topic (default `issue-licence`), long-polling Tongban's Camunda-compatible REST API at
`/engine-rest`, and for each task reads the case's variables, "issues" a licence number and completes the task
with it; a case without an applicant is a BPMN error `LICENCE_REFUSED` (the diagram's error boundary event takes
it), and an unexpected failure is reported with retries (none left: an incident for ops). The token is of a user
with the `worker` role (`POST /api/v1/users` with `"roles": ["worker"]`, then `POST /api/v1/users/{name}/tokens`).
Stop it with Ctrl-C.
"""

from __future__ import annotations

import logging
import os
import sys
import uuid


def handle(task):
    """One task: the licence number, or why it cannot be issued."""
    applicant = task.get_variable("applicant")
    if not applicant:
        return task.bpmn_error("LICENCE_REFUSED", "申请人缺失，无法签发电子证照",
                               {"refusal": {"value": "申请人缺失", "type": "String"}})
    try:
        number = f"DZZZ-{task.get_business_key() or task.get_process_instance_id()[:8]}-{uuid.uuid4().hex[:6]}"
    except Exception as exc:  # noqa: BLE001 - whatever went wrong goes back to Tongban as a failure
        return task.failure("签发失败", str(exc), max_retries=3, retry_timeout=60_000)
    return task.complete({"licence_no": {"value": number, "type": "String"},
                          "licence_issued": {"value": True, "type": "Boolean"}})


def main() -> int:
    from camunda.external_task.external_task_worker import ExternalTaskWorker

    base = os.environ.get("TONGBAN_URL", "http://127.0.0.1:5000").rstrip("/")
    token = os.environ.get("TONGBAN_WORKER_TOKEN")
    if not token:
        print("TONGBAN_WORKER_TOKEN must hold a token of a user with the worker role", file=sys.stderr)
        return 2
    topic = sys.argv[1] if len(sys.argv) > 1 else "issue-licence"
    logging.basicConfig(level=logging.INFO)
    config = {"auth_bearer": {"access_token": token}, "maxTasks": 5, "lockDuration": 60_000,
              "asyncResponseTimeout": 30_000, "retries": 3, "retryTimeout": 60_000, "sleepSeconds": 5}
    worker = ExternalTaskWorker(worker_id=f"licence-{uuid.uuid4().hex[:6]}", base_url=f"{base}/engine-rest",
                                config=config)
    try:
        worker.subscribe(topic, handle)
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
