"""A test that makes an API call under the verify_noapi guard (must fail)."""


def test_calls_the_api(no_trove_api: list[str]) -> None:
    from keystoneauth1 import session

    try:
        session.Session().request("http://127.0.0.1:9/v1.0/x/instances", "GET")
    except AssertionError:
        pass  # the guard's refusal; it still fails the test when the fixture ends
