"""Double-knocking: a POST refused with 400, 401 or 403 is signed the other way within the same
attempt, in-process and in the sender process, against a real loopback inbox that verifies every
signature with ``federation.signatures.verify_request`` and refuses one scheme."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from support.picky_inbox import Knock, PickyInbox

from federation.fetch import FetchNetworkError, FetchPolicy, SafeFetcher
from federation.keys import PrivateKey, generate_rsa_private_pem, load_private_key, public_pem_of
from federation.posting import LocalPoster, SignedPoster
from federation.send_process import ProcessPoster
from federation.session import create_session
from federation.signatures import CAVAGE, RFC9421, Scheme, the_other

PEM = generate_rsa_private_pem()
KEY_ID = "http://node.test/groups/barrio#main-key"
ACTIVITY = "http://node.test/activities/1"
BODY = json.dumps({"id": ACTIVITY, "type": "Create"}).encode()


@pytest.fixture
async def picky() -> AsyncIterator[Callable[..., Awaitable[PickyInbox]]]:
    inboxes: list[PickyInbox] = []

    async def start(refusals: dict[Scheme, int] | None = None, drop: Scheme | None = None) -> PickyInbox:
        inboxes.append(await PickyInbox(public_pem_of(PEM), refusals or {}, drop).start())
        return inboxes[-1]

    yield start
    for inbox in inboxes:
        await inbox.stop()


POLICY = FetchPolicy(allow_private_addresses=True, timeout_seconds=5.0, user_agent="tests")


@pytest.fixture(params=["in-process", "sender-process"])
async def poster(request: pytest.FixtureRequest) -> AsyncIterator[SignedPoster]:
    """Both posters the delivery worker can use: each must knock twice."""
    session = create_session(POLICY)
    made: SignedPoster = (
        LocalPoster(SafeFetcher(session, POLICY)) if request.param == "in-process"
        else ProcessPoster(POLICY, connections=8)
    )
    yield made
    await made.close()
    await session.close()


@pytest.fixture
def key() -> PrivateKey:
    return load_private_key(PEM)


@pytest.mark.parametrize("refused", [CAVAGE, RFC9421])
@pytest.mark.parametrize("status", [400, 401, 403])
async def test_a_refused_scheme_is_followed_by_the_other_in_the_same_attempt(
    picky: Callable[..., Awaitable[PickyInbox]], poster: SignedPoster, key: PrivateKey,
    refused: Scheme, status: int,
) -> None:
    inbox = await picky({refused: status})
    result = await poster.post_signed(inbox.url, BODY, KEY_ID, key, refused)
    other = the_other(refused)
    assert inbox.knocks == [Knock(refused, True, status, ACTIVITY), Knock(other, True, 202, ACTIVITY)]
    assert (result.status, result.scheme) == (202, other)


@pytest.mark.parametrize("first", [CAVAGE, RFC9421])
async def test_a_host_that_takes_the_first_scheme_is_knocked_once(
    picky: Callable[..., Awaitable[PickyInbox]], poster: SignedPoster, key: PrivateKey, first: Scheme
) -> None:
    inbox = await picky({the_other(first): 401})
    result = await poster.post_signed(inbox.url, BODY, KEY_ID, key, first)
    assert inbox.knocks == [Knock(first, True, 202, ACTIVITY)]
    assert (result.status, result.scheme) == (202, first)


@pytest.mark.parametrize("status", [404, 410, 429, 500, 503])
async def test_other_refusals_are_not_about_the_signature_and_knock_once(
    picky: Callable[..., Awaitable[PickyInbox]], key: PrivateKey, status: int
) -> None:
    inbox = await picky({CAVAGE: status})
    session = create_session(POLICY)
    try:
        local = LocalPoster(SafeFetcher(session, POLICY))
        result = await local.post_signed(inbox.url, BODY, KEY_ID, key, CAVAGE)
    finally:
        await session.close()
    assert inbox.knocks == [Knock(CAVAGE, True, status, ACTIVITY)]
    assert (result.status, result.scheme) == (status, CAVAGE)


async def test_when_both_schemes_are_refused_the_first_answer_counts(
    picky: Callable[..., Awaitable[PickyInbox]], poster: SignedPoster, key: PrivateKey
) -> None:
    # A 401 to the scheme the host was believed to take is retried; the probe's 400 is not final.
    inbox = await picky({CAVAGE: 401, RFC9421: 400})
    result = await poster.post_signed(inbox.url, BODY, KEY_ID, key, CAVAGE)
    assert inbox.knocks == [Knock(CAVAGE, True, 401, ACTIVITY), Knock(RFC9421, True, 400, ACTIVITY)]
    assert (result.status, result.scheme) == (401, CAVAGE)


async def test_a_second_knock_that_gets_no_answer_is_a_network_failure(
    picky: Callable[..., Awaitable[PickyInbox]], poster: SignedPoster, key: PrivateKey
) -> None:
    # It may have been delivered: the worker retries it, as for any lost connection.
    inbox = await picky({CAVAGE: 403}, drop=RFC9421)
    with pytest.raises(FetchNetworkError):
        await poster.post_signed(inbox.url, BODY, KEY_ID, key, CAVAGE)
    assert [knock.scheme for knock in inbox.knocks] == [CAVAGE, RFC9421]
