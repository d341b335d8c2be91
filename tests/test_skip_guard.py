"""The skip guard (tests/skip_guard.py): in CI, a skip or xfail not on the allow-list fails the run."""

from __future__ import annotations

import pytest

SUITE = """
import pytest

def test_runs():
    pass

@pytest.mark.skip(reason="no browser here")
def test_skipped():
    pass

@pytest.mark.xfail(reason="known bug", strict=True)
def test_known_bug():
    assert False

@pytest.mark.parametrize("n", [1, 2])
def test_sometimes_skipped(n):
    if n == 2:
        pytest.skip("not on this platform")
"""


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini("[pytest]\nallowed_skips = allowed.toml\n")
    pytester.makepyfile(test_suite=SUITE)
    return pytester


def run(pytester: pytest.Pytester, allowed: str | None = None) -> pytest.RunResult:
    if allowed is not None:
        (pytester.path / "allowed.toml").write_text(allowed)
    # The guard as the suite loads it; pytest-django stays out of these plain suites.
    return pytester.runpytest("-p", "tests.skip_guard", "-p", "no:django")


ALL_LISTED = """
[allowed]
"test_suite.py::test_skipped" = "needs a browser"
"test_suite.py::test_known_bug" = "fixed upstream in the next release"
"test_suite.py::test_sometimes_skipped" = "one platform only"
"""


def test_in_ci_a_skip_not_listed_fails_the_run(suite, monkeypatch):
    monkeypatch.setenv("CI", "true")

    result = run(suite, allowed="[allowed]\n")

    result.assert_outcomes(passed=2, skipped=2, xfailed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "*= 3 not allowed to skip in CI =*",
            "SKIP test_suite.py::test_skipped - no browser here",
            "XFAIL test_suite.py::test_known_bug - known bug",
            "SKIP test_suite.py::test_sometimes_skipped[[]2[]] - not on this platform",
            "*list them with the reason in allowed.toml*",
        ]
    )


def test_in_ci_listed_skips_pass(suite, monkeypatch):
    monkeypatch.setenv("CI", "true")

    result = run(suite, allowed=ALL_LISTED)

    result.assert_outcomes(passed=2, skipped=2, xfailed=1)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.no_fnmatch_line("*not allowed to skip*")


def test_one_unlisted_skip_among_listed_ones_still_fails(suite, monkeypatch):
    monkeypatch.setenv("CI", "true")

    result = run(suite, allowed=ALL_LISTED.replace('"test_suite.py::test_skipped" = "needs a browser"\n', ""))

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*= 1 not allowed to skip in CI =*", "SKIP test_suite.py::test_skipped - *"])


@pytest.mark.parametrize("value", [None, "", "0", "false"])
def test_outside_ci_skips_are_only_reported(suite, monkeypatch, value):
    if value is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", value)

    result = run(suite, allowed="[allowed]\n")

    result.assert_outcomes(passed=2, skipped=2, xfailed=1)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.no_fnmatch_line("*not allowed to skip*")


def test_a_module_skipped_at_collection_counts_and_can_be_listed_by_path(pytester, monkeypatch):
    monkeypatch.setenv("CI", "1")
    pytester.makeini("[pytest]\nallowed_skips = allowed.toml\n")
    pytester.makepyfile(
        test_optional="import pytest\n\npytest.importorskip('no_such_module_here')\n",
        test_plain="def test_y():\n    pass\n",
    )

    unlisted = run(pytester, allowed="[allowed]\n")
    assert unlisted.ret == pytest.ExitCode.TESTS_FAILED
    unlisted.stdout.fnmatch_lines(["SKIP test_optional.py - *no_such_module_here*"])

    listed = run(pytester, allowed='[allowed]\n"test_optional.py" = "optional extra"\n')
    assert listed.ret == pytest.ExitCode.OK


def test_a_listed_test_that_ran_is_reported_stale_without_failing(pytester, monkeypatch):
    monkeypatch.setenv("CI", "true")
    pytester.makeini("[pytest]\nallowed_skips = allowed.toml\n")
    pytester.makepyfile(test_fine="def test_fine():\n    pass\n")

    result = run(pytester, allowed='[allowed]\n"test_fine.py::test_fine" = "used to need a browser"\n')

    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        ["*= 1 allowed to skip in CI but ran =*", "test_fine.py::test_fine - remove it from allowed.toml"]
    )


def test_an_entry_without_a_reason_is_a_usage_error(suite, monkeypatch):
    monkeypatch.delenv("CI", raising=False)

    result = run(suite, allowed='[allowed]\n"test_suite.py::test_skipped" = ""\n')

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*'test_suite.py::test_skipped' needs a reason*"])


def test_a_failing_run_keeps_its_own_exit_status(pytester, monkeypatch):
    monkeypatch.setenv("CI", "true")
    pytester.makeini("[pytest]\nallowed_skips = allowed.toml\n")
    pytester.makepyfile(
        test_mixed="import pytest\n\ndef test_bad():\n    assert False\n\n"
        "@pytest.mark.skip(reason='later')\ndef test_later():\n    pass\n"
    )

    result = run(pytester, allowed="[allowed]\n")

    result.assert_outcomes(failed=1, skipped=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["SKIP test_mixed.py::test_later - later"])


def test_the_suites_own_allow_list_loads(pytestconfig):
    guard = pytestconfig.pluginmanager.get_plugin("skip-guard")
    assert guard is not None
    assert all(reason.strip() for reason in guard.allowed.values())
