import time

from explorer.ui.tasks import TaskRunner


def test_newest_request_wins_and_errors_are_messages(qtbot):
    runner = TaskRunner()
    got, errs = [], []
    def slow(x, cancelled):
        for _ in range(50):
            if cancelled():
                return None
            time.sleep(0.005)
        return x
    runner.submit("a", slow, 1, on_done=got.append)
    runner.submit("a", slow, 2, on_done=got.append)
    runner.submit("a", slow, 3, on_done=got.append)
    qtbot.waitUntil(lambda: not runner.busy(), timeout=5000)
    assert got == [3]
    runner.submit("b", lambda: 1 / 0, on_error=errs.append)
    qtbot.waitUntil(lambda: not runner.busy(), timeout=5000)
    assert errs and "ZeroDivisionError" in errs[0]
    assert runner.shutdown()
