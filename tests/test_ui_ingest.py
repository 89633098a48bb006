"""The ingest page on the real core, offscreen: a dropped folder reaches 100 % and the memory browser's search
finds its notes; Cancel keeps what finished; errors are listed per file; the Qt thread stays responsive."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from secondme.app import build
from secondme.assets import sample_notes_dir
from secondme.memory.browse import find
from secondme.ui.ingest_panel import IngestPanel
from tests.fakes import HashEmbedder
from tests.test_ingest_cancel import notes

pytestmark = pytest.mark.usefixtures("qt_no_leaks")
STALL_BOUND_MS = 250  # the goal is 100 ms; this machine's 2 cores are shared with other work (see README)


@pytest.fixture
def services(secondme_home: Path):  # noqa: ANN201
    built = build(data_dir=secondme_home, embedder=HashEmbedder())
    yield built
    built.close()


@pytest.fixture
def panel(qtbot, services):  # noqa: ANN001, ANN201
    widget = IngestPanel(services)
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    widget.shutdown()


def drop(widget: IngestPanel, path: Path) -> None:
    """A real drag-and-drop of one local path onto the widget."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    action, button, keys = Qt.DropAction.CopyAction, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(widget.rect().center(), action, mime, button, keys)
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(widget, QDropEvent(QPointF(widget.rect().center()), action, mime, button, keys))


def test_a_dropped_folder_reaches_100_percent_and_the_memory_browser_finds_a_note(qtbot, panel, services, tmp_path):
    folder = shutil.copytree(sample_notes_dir(), tmp_path / "notes")
    with qtbot.waitSignal(panel.memory_did_change, timeout=60_000) as done:
        drop(panel, folder)
    [job] = panel.jobs
    assert done.args[0].files == 9 and not done.args[0].errors
    assert job.bar.maximum() == 9 and job.bar.value() == job.bar.maximum()  # 100 %
    assert job.status.text().startswith("done")
    found = find(services.store, "Lisbon trip")
    assert any("Lisbon" in r.title for r in found)


def test_cancel_stops_between_files_and_keeps_what_finished(qtbot, panel, services, tmp_path):
    folder = notes(tmp_path / "many", 150)
    job = panel.add_paths([folder])
    assert job is not None
    job.worker.item.connect(lambda event: event.done >= 3 and job.cancel.click())
    with qtbot.waitSignal(job.finished, timeout=60_000):
        pass
    report = job.report
    assert report.cancelled and 3 <= report.files < 150
    assert job.status.text().startswith("cancelled") and not job.cancel.isEnabled()
    assert len(services.store.origins()) == report.files  # each note is one origin, stored whole


def test_errors_are_listed_per_file(qtbot, panel, tmp_path):
    folder = notes(tmp_path / "mixed", 2)
    (folder / "broken.gpx").write_text("<gpx><trk><trkseg><trkpt lat='1' lon='2'>")
    (folder / "empty.md").write_text("")
    with qtbot.waitSignal(panel.memory_did_change, timeout=60_000):
        panel.accept_drop([QUrl.fromLocalFile(str(folder))])
    job = panel.jobs[0]
    listed = [job.errors.item(i).text() for i in range(job.errors.count())]
    assert job.errors.isVisible() and listed
    assert any("broken.gpx" in line for line in listed)
    assert all(str(folder) in line for line in listed)


def test_the_qt_thread_does_not_stall_while_a_folder_ingests(qtbot, secondme_home, tmp_path):
    """The real embedder (MiniLM on onnxruntime) and store; a 10 ms timer measures the event loop's longest gap."""
    services = build(data_dir=secondme_home)
    try:
        services.store.search("warm up the embedder", 1)
        panel = IngestPanel(services)
        qtbot.addWidget(panel)
        gaps, last = [], [time.perf_counter()]

        def tick() -> None:
            now = time.perf_counter()
            gaps.append(now - last[0])
            last[0] = now

        timer = QTimer(interval=10, timeout=tick)
        timer.start()
        with qtbot.waitSignal(panel.memory_did_change, timeout=300_000):
            panel.add_paths([notes(tmp_path / "folder", 120)])
        timer.stop()
        worst = max(gaps) * 1000
        print(f"\nevent loop while ingesting 120 notes: {len(gaps)} ticks, longest gap {worst:.0f} ms")
        assert panel.jobs[0].report.files == 120
        assert worst < STALL_BOUND_MS
    finally:
        services.close()


def test_a_folder_dropped_on_the_main_window_goes_to_the_ingest_page(qtbot, secondme_home, tmp_path):
    from secondme.ui.main_window import MainWindow
    from tests.fake_chat import ScriptedModel

    services = build(data_dir=secondme_home, embedder=HashEmbedder(), model=ScriptedModel("Noted."))
    main = MainWindow(services, services.assistant())
    qtbot.addWidget(main)
    main.show()
    ingest = main.pages["Ingest"]
    with qtbot.waitSignals([ingest.memory_did_change, main.pages["Day"].day_did_load], timeout=60_000):
        drop(main, notes(tmp_path / "dropped", 3))
    assert main.stack.currentWidget() is ingest and ingest.jobs[0].report.files == 3
    main.close()
    services.close()
