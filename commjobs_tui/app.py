"""The commjobs Textual app: four sections as app modes, palette, help and theme.

Keys that work on every screen:

- 1, 2, 3, 4 show Donors, Communicate, Communication Jobs and Communications.
  A text field with focus takes these keys as typing, so press escape first or
  use the command palette.
- ? lists the keys of the current screen, ctrl+p opens the command palette.
- q or ctrl+q quits.

Each section is an app mode with its own screen stack, so a screen pushed inside
one section (a donor's details, a wizard step) stays there while another
section is shown.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any, ClassVar

from rich.text import Text
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen, Screen
from textual.signal import Signal
from textual.theme import Theme
from textual.worker import Worker, WorkerState

from commjobs_tui.core.context import AppContext
from commjobs_tui.core.errors import NotFoundError, UserError
from commjobs_tui.core.events import JobFinished
from commjobs_tui.core.logging_setup import log_file_path
from commjobs_tui.core.watch import DataVersionWatcher, JobUpdateCollector, JobUpdates
from commjobs_tui.screens.communicate import CommunicateScreen
from commjobs_tui.screens.communications import CommunicationsScreen
from commjobs_tui.screens.donors import DonorsScreen
from commjobs_tui.screens.help import HelpScreen, collect_key_help
from commjobs_tui.screens.job_detail import JobDetailScreen
from commjobs_tui.screens.job_dialogs import ConfirmDialog, describe_jobs
from commjobs_tui.screens.jobs import JobsScreen
from commjobs_tui.widgets.sidebar import SECTIONS, Sidebar

log = logging.getLogger(__name__)

SECTION_SCREENS: dict[str, Callable[[AppContext], Screen[None]]] = {
    "donors": DonorsScreen,
    "communicate": CommunicateScreen,
    "jobs": JobsScreen,
    "communications": CommunicationsScreen,
}
FIRST_SECTION = "donors"
THEME_STATE_KEY = "theme"
ERROR_NOTIFICATION_SECONDS = 10
# Job events reach the screens in batches this many seconds apart, so a busy
# job costs at most four table updates a second.
JOB_UPDATE_SECONDS = 0.25
# Every this many batches the database is checked for commits by other
# connections (another commjobs process running a job), so every 0.75 s.
DATABASE_CHECK_EVERY = 3


class CommjobsApp(App[None]):
    """The terminal UI. Screens reach settings, store and clock through `context`."""

    TITLE = "commjobs"
    CSS_PATH = "styles/app.tcss"
    # Screens narrower than 100 columns get the "-narrow" class, and the sidebar
    # then shows only the section keys. Textual types this attribute in a way that
    # mypy rejects as a ClassVar override, hence no annotation.
    HORIZONTAL_BREAKPOINTS = [  # noqa: RUF012
        (0, "-narrow"),
        (100, "-wide"),
    ]
    BINDINGS: ClassVar[list[BindingType]] = [
        *(
            Binding(
                section.key,
                f"switch_section('{section.mode}')",
                section.title,
                show=False,
                id=f"section.{section.mode}",
            )
            for section in SECTIONS
        ),
        Binding(
            "question_mark",
            "help",
            "Help",
            tooltip="List the keys of this screen",
            id="app.help",
        ),
        Binding("q", "quit", "Quit", tooltip="Quit commjobs", id="app.quit"),
    ]

    def __init__(
        self, context: AppContext, *, first_section: str = FIRST_SECTION
    ) -> None:
        """`first_section` is the mode of the section shown at start."""
        super().__init__()
        self.context = context
        self.first_section = first_section
        self.sub_title = "demo" if context.demo else context.db_path.name
        # Screens subscribe to this to apply job progress and database changes.
        self.job_updates_signal: Signal[JobUpdates] = Signal(self, "job-updates")
        self._job_updates = JobUpdateCollector()
        self._database_watcher = DataVersionWatcher(context.db_path)
        self._unsubscribe_job_events: Callable[[], None] | None = None
        self._job_update_ticks = 0
        self._asking_to_quit = False
        for section in SECTIONS:
            self.add_mode(section.mode, self._section_factory(section.mode))

    def _section_factory(self, mode: str) -> Callable[[], Screen[None]]:
        return partial(SECTION_SCREENS[mode], self.context)

    async def on_mount(self) -> None:
        self._restore_theme()
        self.theme_changed_signal.subscribe(self, self._remember_theme)
        self._unsubscribe_job_events = self.context.runner.bus.subscribe(
            self._job_updates.add
        )
        self._database_watcher.changed()
        self.set_interval(JOB_UPDATE_SECONDS, self._publish_job_updates)
        await self.switch_mode(self.first_section)

    async def on_unmount(self) -> None:
        await self._close_job_runner()
        # The engine's pooled connections belong to this app's event loop, so
        # they are closed before the loop ends. The store can be used again.
        await self.context.store.close()

    async def _close_job_runner(self) -> None:
        """Pause the jobs running here, so they stay resumable, and stop watching."""
        if self._unsubscribe_job_events is not None:
            self._unsubscribe_job_events()
            self._unsubscribe_job_events = None
        self._database_watcher.close()
        await self.context.runner.aclose(leave_as="paused")

    def _publish_job_updates(self) -> None:
        """Send the job events and database changes collected since the last batch."""
        self._job_update_ticks += 1
        check_database = self._job_update_ticks % DATABASE_CHECK_EVERY == 0
        if check_database and self._database_watcher.changed():
            self._job_updates.note_database_change()
        updates = self._job_updates.take()
        if updates is None:
            return
        for finished in updates.finished:
            if finished.status in ("completed", "failed"):
                self.run_worker(
                    self._report_finished_job(finished),
                    group="job-finished",
                    exit_on_error=False,
                    description="Reporting a finished job",
                )
        self.job_updates_signal.publish(updates)

    async def _report_finished_job(self, finished: JobFinished) -> None:
        try:
            job = await self.context.jobs.get_job(finished.job_id)
        except NotFoundError:
            return
        label = f"“{job.name}” ({job.id})"
        if finished.status == "completed":
            self.notify(
                f"Job {label} completed: {finished.completed:,} emails drafted."
            )
            return
        self.notify(
            f"Job {label} failed: {finished.error or 'see its details'}",
            title="Job failed",
            severity="error",
            timeout=ERROR_NOTIFICATION_SECONDS,
        )

    async def action_open_job(self, job_id: int) -> None:
        """Show the job's details in the Communication Jobs section.

        Screens open in that section are closed first, so escape leads back to
        the job list. Dialogs among them close as if escape was pressed.
        """
        await self.switch_mode("jobs")
        top = self.screen
        if isinstance(top, JobDetailScreen) and top.job_id == job_id:
            return
        while len(self.screen_stack) > 1:
            await self.screen.dismiss(None)
        await self.push_screen(JobDetailScreen(self.context, job_id))

    async def action_quit(self) -> None:
        """Quit, asking first while jobs run in this process.

        Quitting pauses those jobs (see on_unmount), so they can be resumed.
        """
        running = self.context.runner.running_job_ids()
        if not running:
            self.exit()
            return
        if self._asking_to_quit:
            return
        self._asking_to_quit = True
        self.run_worker(
            self._confirm_quit(running),
            group="quit",
            exit_on_error=False,
            description="Quitting",
        )

    async def _confirm_quit(self, job_ids: list[int]) -> None:
        try:
            running_ids = set(job_ids)
            all_jobs = await self.context.jobs.list_jobs()
            jobs = [job for job in all_jobs if job.id in running_ids]
            count = len(job_ids)
            names = describe_jobs(jobs) or ", ".join(f"job {i}" for i in job_ids)
            verb = "is" if count == 1 else "are"
            confirmed = await self.push_screen_wait(
                ConfirmDialog(
                    "Quit commjobs?",
                    [
                        f"{count} {'job' if count == 1 else 'jobs'} {verb} running "
                        f"in this window: {names}.",
                        f"Quitting pauses {'it' if count == 1 else 'them'}, and no "
                        "drafted email is lost. Resume later with p in "
                        "Communication Jobs, or with `commjobs jobs resume ID`.",
                    ],
                    confirm_label="Pause and quit",
                    back_label="Keep running",
                )
            )
        finally:
            self._asking_to_quit = False
        if confirmed:
            self.exit()

    def _restore_theme(self) -> None:
        saved = self.context.ui_state.get(THEME_STATE_KEY)
        if saved is None:
            return
        if isinstance(saved, str) and saved in self.available_themes:
            self.theme = saved
        else:
            log.warning("ignoring unknown saved theme %r", saved)

    def _remember_theme(self, theme: Theme) -> None:
        self.context.ui_state.set(THEME_STATE_KEY, theme.name)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # A dialog keeps the keyboard until it closes, so no section switches
        # underneath it.
        in_dialog = isinstance(self.screen, ModalScreen)
        return not (in_dialog and action in ("switch_section", "help"))

    async def action_switch_section(self, mode: str) -> None:
        """Show a section with the screens it had when last shown."""
        await self.switch_mode(mode)

    async def action_new_job(self) -> None:
        """Show the Communicate section at its first step, with nothing filled in.

        The section's screens are rebuilt, so a wizard in progress is discarded.
        Jobs that already run are not affected.
        """
        mode = "communicate"
        if self.current_mode == mode:
            await self.switch_mode(FIRST_SECTION)
        await self.remove_mode(mode)
        self.add_mode(mode, self._section_factory(mode))
        await self.switch_mode(mode)

    def action_help(self) -> None:
        screen = self.screen
        rows = collect_key_help(self, screen.active_bindings.values())
        heading = getattr(screen, "heading", None) or screen.title or "this screen"
        self.push_screen(HelpScreen(str(heading), rows))

    async def on_sidebar_section_selected(
        self, message: Sidebar.SectionSelected
    ) -> None:
        await self.action_switch_section(message.mode)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for section in SECTIONS:
            yield SystemCommand(
                section.title,
                f"Show the {section.title} section (key {section.key})",
                partial(self.action_switch_section, section.mode),
            )
        yield SystemCommand(
            "New communication job",
            "Start a new job in the Communicate section, at its first step",
            self.action_new_job,
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Show a failed worker's error as a notification and log its traceback.

        Screens pass their workers' failures here (see SectionScreen). A UserError
        shows its own message. Any other error shows a short message, and the
        traceback goes to the log file only.
        """
        if event.state is not WorkerState.ERROR:
            return
        worker = event.worker
        error = worker.error
        label = worker.description or worker.name or "A background task"
        if isinstance(error, UserError):
            log.warning("%s failed: %s", label, error)
            message = str(error)
        else:
            log.error("%s failed", label, exc_info=error)
            message = (
                f"{label} failed because of an unexpected error. "
                f"Details are in the log file {log_file_path()}."
            )
        self.notify(
            message,
            title="Error",
            severity="error",
            timeout=ERROR_NOTIFICATION_SECONDS,
        )

    def _handle_exception(self, error: Exception) -> None:
        # Textual 8.2 prints a traceback with local variables when a handler
        # raises, and locals can contain donor data. The log gets the traceback,
        # and the terminal gets one line.
        log.critical("the app stopped because of an unhandled error", exc_info=error)
        super()._handle_exception(error)

    def _fatal_error(self) -> None:
        self.bell()
        self._exit_renderables.append(
            Text(
                "commjobs stopped because of an unexpected error. "
                f"Details are in the log file {log_file_path()}."
            )
        )
        self._close_messages_no_wait()
