"""How the mapping reads a Lambda container's answers: each way the Invoke API and the emulator report a failure."""

import json

import httpx
import pytest

from esm.__main__ import environment_factory, function_urls
from esm.invokers import INVOKE_PATH, FunctionUnreachable, HttpInvoker, InvocationFailed
from esm.settings import MappingSettings

EVENT = {"Records": [{"messageId": "m-1", "body": "{}"}]}


def invoker_answering(status: int, body: bytes, headers: dict | None = None) -> HttpInvoker:
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.path == INVOKE_PATH and json.loads(request.content) == EVENT
        return httpx.Response(status, content=body, headers=headers or {})

    return HttpInvoker("http://lambda:8080/", timeout_seconds=30, transport=httpx.MockTransport(answer))


def test_a_partial_batch_response_is_returned_as_the_function_gave_it():
    response = {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    assert invoker_answering(200, json.dumps(response).encode()).invoke(EVENT) == response


@pytest.mark.parametrize(
    ("status", "body", "headers", "reason"),
    [
        (200, b'{"errorMessage": "boom", "errorType": "RuntimeError"}', {"X-Amz-Function-Error": "Unhandled"}, "boom"),
        (200, b'{"errorMessage": "no module named handler", "errorType": "Runtime.ImportModuleError"}', {}, "Import"),
        (200, b"Task timed out after 30.00 seconds", {}, "timed out"),
        (502, b'{"errorMessage": "init failed"}', {}, "502"),
        (400, b"", {}, "400"),
    ],
    ids=["function-error", "error-payload", "emulator-timeout", "init-error", "busy"],
)
def test_every_failed_invocation_fails_the_whole_batch(status, body, headers, reason):
    with pytest.raises(InvocationFailed, match=reason):
        invoker_answering(status, body, headers).invoke(EVENT)


def test_an_unreachable_container_is_told_apart_from_a_failed_invocation():
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    def hang_up(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)

    invoker = HttpInvoker("http://lambda:8080", timeout_seconds=30, transport=httpx.MockTransport(refuse))
    with pytest.raises(FunctionUnreachable, match="could not reach http://lambda:8080/2015-03-31"):
        invoker.invoke(EVENT)
    # Reached, then lost: the function may have run part of the batch, which must wait for the visibility timeout.
    invoker = HttpInvoker("http://lambda:8080", timeout_seconds=30, transport=httpx.MockTransport(hang_up))
    with pytest.raises(InvocationFailed, match="could not invoke") as failed:
        invoker.invoke(EVENT)
    assert not isinstance(failed.value, FunctionUnreachable)


def test_each_environment_is_a_container_of_its_own_and_there_must_be_enough_of_them():
    urls = [f"http://lambda-{i}:8080" for i in range(5)]
    settings = MappingSettings(esm_function_urls=urls, esm_maximum_concurrency=3)
    normal, high = function_urls(settings)
    assert (normal, high) == (urls[:3], urls[3:5]), "no container serves both mappings"
    new_environment = environment_factory(settings, normal)
    assert [new_environment().url for _ in range(3)] == [url + INVOKE_PATH for url in normal]
    with pytest.raises(SystemExit, match="need 6 Lambda containers, but ESM_FUNCTION_URLS lists 5"):
        function_urls(MappingSettings(esm_function_urls=urls, esm_maximum_concurrency=4))
