"""The soak run's kill plan (benchmark_qa_local.kills): an armed invocation dies right after a call returns, and
nothing it tries afterwards leaves the process; unarmed calls (the test's own) are never touched."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
import requests
from benchmark_qa_local.invoker import ExecutionEnvironmentDied
from benchmark_qa_local.kills import Killed, KillPlan
from botocore.stub import Stubber


class _Answering(requests.adapters.BaseAdapter):
    """A transport that answers 200 without a socket, counting what was sent."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[str] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        self.sent.append(f"{request.method} {request.url}")
        response = requests.Response()
        response.status_code, response.url, response._content = 200, request.url or "", b"{}"
        return response

    def close(self) -> None:
        pass


def _s3() -> tuple[Any, Stubber]:
    client = boto3.client("s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    for _ in range(2):
        stubber.add_response("put_object", {"ETag": '"e"'}, {"Bucket": "b", "Key": "k", "Body": b"1"})
    stubber.activate()
    return client, stubber


def test_a_sure_kill_comes_after_the_first_call_returns_and_cuts_the_invocation_off() -> None:
    plan = KillPlan(seed=1, probability=1.0)
    client, stubber = _s3()
    with plan.installed():
        with plan.armed("ManifestFunction"):
            with pytest.raises(Killed) as killed:
                client.put_object(Bucket="b", Key="k", Body=b"1")
            with pytest.raises(Killed, match="is dead"):  # e.g. a finally block of the dead function
                client.put_object(Bucket="b", Key="k", Body=b"1")
        client.put_object(Bucket="b", Key="k", Body=b"1")  # unarmed: the test's own call goes through
    assert isinstance(killed.value, ExecutionEnvironmentDied)
    assert not isinstance(killed.value, Exception), "no handler's `except Exception` may survive a kill"
    stubber.assert_no_pending_responses()  # exactly two calls were made: the killed one and the unarmed one
    assert plan.kills == {"ManifestFunction: after s3.PutObject": 1}


def test_encord_requests_are_killed_after_they_are_answered() -> None:
    plan = KillPlan(seed=1, probability=1.0)
    session, transport = requests.Session(), _Answering()
    session.mount("http://", transport)
    url = "http://double/v2/public/projects/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/workflow/stages"
    with plan.installed(), plan.armed("RouteFunction"):
        with pytest.raises(Killed):
            session.post(url)
        with pytest.raises(Killed):
            session.get(url)
    assert transport.sent == [f"POST {url}"]
    assert plan.kills == {"RouteFunction: after Encord POST /v2/public/projects/…/workflow/stages": 1}


def test_the_clients_are_restored_and_a_zero_plan_never_kills() -> None:
    original = requests.Session.send
    plan = KillPlan(seed=1, probability=0.0)
    client, _ = _s3()
    with plan.installed():
        assert requests.Session.send is not original
        with plan.armed("ScoreFunction"):
            client.put_object(Bucket="b", Key="k", Body=b"1")
            client.put_object(Bucket="b", Key="k", Body=b"1")
    assert requests.Session.send is original
    assert plan.total == 0
    assert plan.calls == {"ScoreFunction: s3.PutObject": 2}


def test_about_the_asked_share_of_invocations_die_whatever_their_length() -> None:
    """The hazard per call follows the calls an invocation of that kind makes: short and long ones both die
    about `probability` of the time."""
    plan = KillPlan(seed=7, probability=0.2)
    client = boto3.client("s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    stubber.activate()
    died = {2: 0, 40: 0}
    with plan.installed():
        for calls in (2, 40):
            for _ in range(300):
                for _ in range(calls):  # what a dead invocation leaves unanswered, the next one takes
                    stubber.add_response("head_bucket", {}, {"Bucket": "b"})
                with plan.armed("F", str(calls)):
                    try:
                        for _ in range(calls):
                            client.head_bucket(Bucket="b")
                    except Killed:
                        died[calls] += 1
    assert 0.12 < died[2] / 300 < 0.3, died
    assert 0.12 < died[40] / 300 < 0.3, died
