"""WebSocket fan-out benchmark: signaldesk against a naive FastAPI baseline (`make bench`).

- `python -m bench`: the orchestrator (bench/__main__.py);
- bench.load_client: N raw WebSocket subscribers in one asyncio process;
- bench.signaldesk_server / bench.naive_server: the servers under test, each with
- bench.publisher: the in-process publisher, flow-controlled by the load client's progress.
"""
