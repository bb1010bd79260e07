"""VCD: export of the history, recording, reading other tools' files, replay with its timing, and
the files opened by PulseView's library (libsigrok, through sigrok-cli) and GTKWave's tools."""

import io
import shutil
import subprocess
import threading
import time

import pytest

import RPIO
import RPIO.sim
from RPIO.workbench import vcd
from wb_helpers import poll

MS = 1_000_000


def toggle(channel, gaps_ms):
    """Toggle an output with the given gaps (the "script under test" of these tests)."""
    level = 0
    for gap in gaps_ms:
        level ^= 1
        RPIO.output(channel, level)
        time.sleep(gap / 1000)


def relative(levels):
    """[(t_ns, level)] -> [(t_ns - first, level)]"""
    t0 = levels[0][0]
    return [(t - t0, level) for t, level in levels]


# -- writing ---------------------------------------------------------------------------------


def test_export_keeps_the_model_timestamps_exactly_at_1ns(tmp_path):
    RPIO.setup(17, RPIO.OUT)
    toggle(17, [1, 2, 1, 3])
    history = RPIO.sim.history(17)
    assert len(history) == 4
    path = tmp_path / "out.vcd"
    summary = vcd.export_vcd(path, gpios=[17], timescale="1ns")
    assert summary.changes == 4 and summary.signals == {17: "GPIO17"}
    trace = vcd.read_vcd(path)
    assert trace.timescale_fs == 10**6
    assert [s.path for s in trace.signals] == ["rpio.GPIO17"]
    values = trace.levels("GPIO17")
    # the $dumpvars value (the level before the first change), then every change at its time
    assert values[0] == (0.0, 0)
    start = history[0].timestamp_ns
    assert values[1:] == [(float(e.timestamp_ns - start), e.level) for e in history]


def test_the_default_timescale_rounds_to_microseconds():
    entries = [(1_000_000_000, 4, 1), (1_000_001_499, 4, 0), (1_000_002_500, 4, 1)]
    text = vcd.dumps(entries)
    assert "$timescale 1us $end" in text
    trace = vcd.read_vcd(text)
    assert trace.levels("GPIO4") == [(0.0, 0), (0.0, 1), (1000.0, 0), (3000.0, 1)]


def test_floating_pins_are_z_and_initial_levels_come_from_the_start():
    RPIO.setup(22, RPIO.IN, pull_up_down=RPIO.PUD_OFF)  # floating: reads 0
    RPIO.setup(23, RPIO.IN, pull_up_down=RPIO.PUD_UP)
    with vcd.Recorder([22, 23, 24]) as recording:
        RPIO.sim.drive(22, 1)
        RPIO.sim.release(22)
        RPIO.sim.drive(23, 0)
    buffer = io.StringIO()
    recording.write(buffer, timescale="1ns")
    trace = vcd.read_vcd(buffer.getvalue())
    assert [value for _t, value in trace.values("GPIO22")] == ["z", "1", "z"]
    assert [value for _t, value in trace.values("GPIO23")] == ["1", "0"]
    assert [value for _t, value in trace.values("GPIO24")] == ["0"]  # pulled down, never moved
    # the trace lasts until the recording stopped
    assert trace.t_ns(trace.end_tick) == pytest.approx(recording.end_ns - recording.start_ns, abs=1)
    only = io.StringIO()
    recording.write(only, only_changed=True)
    assert {s.name for s in vcd.read_vcd(only.getvalue()).signals} == {"GPIO22", "GPIO23"}


def test_export_since_a_time_starts_each_pin_at_its_level_then():
    RPIO.setup(17, RPIO.OUT)
    RPIO.output(17, 1)
    since = time.monotonic_ns()
    RPIO.output(17, 0)
    trace = vcd.read_vcd(_export_text(since_ns=since))
    assert [value for _t, value in trace.values("GPIO17")] == ["1", "0"]


def _export_text(**options):
    buffer = io.StringIO()
    vcd.export_vcd(buffer, **options)
    return buffer.getvalue()


def test_the_recorder_survives_a_cleared_history():
    RPIO.setup(17, RPIO.OUT)
    recording = vcd.Recorder([17]).start()
    RPIO.output(17, 1)
    RPIO.output(17, 0)
    RPIO.sim.clear_history()  # the history now misses the first two changes
    RPIO.output(17, 1)
    poll(lambda: len(recording._edges) >= 3, message="the recorder's edge lines")
    changes = recording.stop()
    assert [level for _t, _g, level, _f in changes] == [1, 0, 1]
    assert [t for t, *_ in changes] == sorted(t for t, *_ in changes)


def test_identifiers_stay_unique_past_94_signals():
    codes = [vcd._identifier(i) for i in range(94 * 3)]
    assert len(set(codes)) == len(codes)
    assert all(33 <= ord(c) <= 126 for code in codes for c in code)
    entries = [(10, gpio, 1) for gpio in range(100)]
    trace = vcd.read_vcd(vcd.dumps(entries))
    assert len(trace.signals) == 100
    assert all(trace.levels(f"GPIO{gpio}")[-1] == (0.0, 1) for gpio in range(100))


# -- reading ---------------------------------------------------------------------------------

FOREIGN = """\
$date today $end
$version some simulator $end
$comment two scopes, a vector, a real, multi-character codes $end
$timescale 10 ns $end
$scope module top $end
$var wire 1 !a clk $end
$scope module inner $end
$var reg 4 ## nibble [3:0] $end
$var real 64 %r voltage $end
$var wire 1 D0 D0 $end
$upscope $end
$upscope $end
$enddefinitions $end
$comment data follow $end
#0
$dumpvars
0!a
b0000 ##
r3.3 %r
xD0
$end
#5
1!a
b1010 ##
1D0
#7
$dumpoff
x!a
$end
#12
$dumpon
0!a
$end
zD0
"""


def test_other_tools_files_parse():
    trace = vcd.read_vcd(FOREIGN)
    assert trace.timescale_fs == 10 * 10**6
    assert [s.path for s in trace.signals] == ["top.clk", "top.inner.nibble", "top.inner.voltage",
                                               "top.inner.D0"]
    assert trace.signal("nibble").width == 4
    assert trace.levels("clk") == [(0.0, 0), (50.0, 1), (70.0, None), (120.0, 0)]
    assert trace.values("top.inner.nibble") == [(0.0, "0000"), (50.0, "1010")]
    assert trace.values("voltage") == [(0.0, "3.3")]
    # a vector keeps its value (issue 13: an 8-bit bus read as 0/1/None), a real its number
    assert trace.levels("nibble") == [(0.0, 0), (50.0, 10)]
    assert trace.levels("voltage") == [(0.0, 3.3)]
    assert trace.levels("D0") == [(0.0, None), (50.0, 1), (120.0, None)]
    assert trace.comments[0].startswith("two scopes")


def test_an_8_bit_bus_reads_as_numbers():
    text = ("$timescale 1us $end $var wire 8 # bus [7:0] $end $enddefinitions $end "
            "#0 b10100101 # #1 b1 # #2 bxx001100 # #3 bzzzzzzzz # #4 b11111111 #")
    trace = vcd.read_vcd(text)
    assert trace.levels("bus") == [(0.0, 165), (1000.0, 1), (2000.0, None), (3000.0, None),
                                   (4000.0, 255)]


@pytest.mark.parametrize("text, error", [
    ("$timescale 3 ns $end", "timescale"),
    ("$var wire 1 ! a $end $enddefinitions $end #5 1! #4 0!", "backwards"),
    ("$var wire 1 ! a $end $enddefinitions $end #0 1?", "undeclared"),
    ("$var wire 1 ! a $end $enddefinitions $end #0 q!", "unexpected"),
    ("$comment never closed", "not closed"),
])
def test_broken_files_are_refused_with_a_reason(text, error):
    with pytest.raises(ValueError, match=error):
        vcd.read_vcd(text)


# -- the files open in PulseView's library and GTKWave's tools -------------------------------


def _recorded_file(tmp_path):
    RPIO.setup(17, RPIO.OUT)
    RPIO.setup(22, RPIO.IN, pull_up_down=RPIO.PUD_OFF)
    with vcd.Recorder([17, 22, 27]) as recording:
        toggle(17, [1, 2, 1, 2])
        RPIO.sim.drive(22, 1)
        RPIO.sim.release(22)
    path = tmp_path / "board.vcd"
    recording.write(path)
    return path


@pytest.mark.skipif(shutil.which("sigrok-cli") is None,
                    reason="sigrok-cli (Debian package sigrok-cli: PulseView's libsigrok) is not "
                           "installed")
def test_libsigrok_reads_the_file_as_pulseview_does(tmp_path):
    ours = _recorded_file(tmp_path)
    theirs = tmp_path / "sigrok.vcd"
    result = subprocess.run(["sigrok-cli", "-I", "vcd", "-i", str(ours), "-O", "vcd",
                             "-o", str(theirs)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    original, reread = vcd.read_vcd(ours), vcd.read_vcd(theirs)
    assert [s.name for s in reread.signals] == ["GPIO17", "GPIO22", "GPIO27"]
    assert reread.timescale_fs == original.timescale_fs  # 1 us: a 1 MHz sample rate
    for name in ("GPIO17", "GPIO22"):
        # libsigrok has no 'z': a floating pin reads 0 there, as on RPIO's board
        mine = [(t, level or 0) for t, level in original.levels(name)]
        collapsed = [mine[0]] + [b for a, b in zip(mine, mine[1:]) if a[1] != b[1]]
        assert reread.levels(name) == collapsed


@pytest.mark.skipif(shutil.which("vcd2fst") is None or shutil.which("fst2vcd") is None,
                    reason="GTKWave's vcd2fst/fst2vcd (Debian package gtkwave) are not installed")
def test_gtkwave_converts_the_file_and_back(tmp_path):
    ours = _recorded_file(tmp_path)
    fst, back = tmp_path / "board.fst", tmp_path / "back.vcd"
    for command in (["vcd2fst", str(ours), str(fst)], ["fst2vcd", "-o", str(back), str(fst)]):
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
    original, reread = vcd.read_vcd(ours), vcd.read_vcd(back)
    assert [s.name for s in reread.signals] == [s.name for s in original.signals]
    for name in ("GPIO17", "GPIO22", "GPIO27"):
        assert reread.values(name) == original.values(name)


# -- replay ----------------------------------------------------------------------------------


def _stimulus(signal, changes_ms, initial="1"):
    """A VCD with one signal: initial value at 0, then (ms, value) changes."""
    lines = ["$timescale 1us $end", "$scope module bench $end",
             f"$var wire 1 ! {signal} $end", "$upscope $end", "$enddefinitions $end",
             "#0", "$dumpvars", f"{initial}!", "$end"]
    for ms, value in changes_ms:
        lines += [f"#{int(ms * 1000)}", f"{value}!"]
    return "\n".join(lines) + "\n"


def _edges_seen_by_a_callback(channel):
    seen, done = [], threading.Event()

    def callback(gpio, value, event):
        seen.append((event.timestamp_ns, value))

    RPIO.add_interrupt_callback(channel, callback, edge="both", pull_up_down=RPIO.PUD_UP,
                                with_event=True)
    RPIO.wait_for_interrupts(threaded=True)
    return seen, done


@pytest.mark.parametrize("scale", [1.0, 0.5, 2.0])
def test_replay_drives_the_script_s_input_with_the_file_s_timing(scale):
    """Each change reaches the script no earlier than its time in the file (times scale) after
    the start. How late it may be is a figure of the machine's load: bench/workbench.py measures
    it; a test only checks what cannot depend on load."""
    seen, _ = _edges_seen_by_a_callback(22)
    text = _stimulus("GPIO22", [(10, 0), (40, 1), (100, 0), (120, 1)])
    replay = vcd.replay_vcd(vcd.read_vcd(text), scale=scale, hold=True)
    assert replay.wait(0) and len(replay.applied) == 5
    assert [offset for offset, _g, _l in replay.plan] == [
        round(ms * MS * scale) for ms in (0, 10, 40, 100, 120)]
    poll(lambda: len(seen) >= 4, message="four edges at the callback")
    assert [level for _t, level in seen] == [0, 1, 0, 1]
    for (t_ns, _level), (offset, _gpio, _l) in zip(seen, replay.plan[1:]):
        assert t_ns >= replay.started_ns + offset  # never early
    # each edge is the model's: the time the replay drove it, as the history says too
    applied = [t for t, _gpio, _level in replay.applied[1:]]
    assert all(t_edge <= t_applied for (t_edge, _), t_applied in zip(seen, applied))
    assert [(e.timestamp_ns, e.level) for e in RPIO.sim.history(22)][-4:] == seen


def test_replay_at_scale_zero_drives_everything_in_order_at_once():
    text = _stimulus("GPIO22", [(1000, 0), (2000, 1), (3000, 0)])
    replay = vcd.Replay(text, scale=0, hold=True)
    assert [offset for offset, _g, _l in replay.plan] == [0, 0, 0, 0]  # no waits at all
    replay.run()
    assert [level for _t, _g, level in replay.applied] == [1, 0, 1, 0]
    assert RPIO.sim.level(22) == 0


def test_round_trip_script_trace_replayed_on_a_fresh_board(tmp_path):
    RPIO.setup(17, RPIO.OUT)
    with vcd.Recorder([17]) as recording:
        toggle(17, [15, 30, 10, 25, 5])
    path = tmp_path / "first.vcd"
    recording.write(path)
    first = [(e[0], e[2]) for e in recording.changes]

    RPIO.sim.use_board("c03111")  # a new board: GPIO 17 is an input now, driven by the file
    RPIO.setup(17, RPIO.IN, pull_up_down=RPIO.PUD_DOWN)
    with vcd.Recorder([17]) as second_recording:
        replay = vcd.replay_vcd(path, hold=True)
    assert replay.skipped == []
    second = [(e[0], e[2]) for e in second_recording.changes]
    assert [level for _t, level in second] == [level for _t, level in first]
    # the file's times (1 us ticks) are the replay's deadlines; no change comes before its own
    start = recording.start_ns
    file_offsets = [(t - start + 500) // 1000 * 1000 for t, _level in first]
    changes = [offset for offset, _gpio, level in replay.plan][1:]  # after the $dumpvars value
    assert changes == file_offsets
    for (t2, _), offset in zip(second, file_offsets):
        assert t2 >= replay.started_ns + offset
    again = tmp_path / "second.vcd"
    second_recording.write(again)
    a = [v for _t, v in vcd.read_vcd(path).values("GPIO17")]
    b = [v for _t, v in vcd.read_vcd(again).values("GPIO17")]
    assert a == b


def test_signals_are_mapped_by_name_or_by_hand():
    text = _stimulus("D0", [(1, 0), (2, "z")], initial="1")
    with pytest.raises(ValueError, match="names a GPIO"):
        vcd.Replay(text)
    with pytest.raises(KeyError, match="'D7'"):
        vcd.Replay(text, channels={"D7": 5})
    RPIO.setup(23, RPIO.IN, pull_up_down=RPIO.PUD_UP)
    replay = vcd.replay_vcd(text, scale=0, channels={"D0": 23})
    assert [(g, level) for _t, g, level in replay.applied] == [(23, 1), (23, 0), (23, None)]
    assert RPIO.sim.chip().pin_state(23).drive is None  # z let go of the pin
    assert RPIO.sim.level(23) == 1  # its pull-up decides again
    assert vcd.gpio_of_name("GPIO17_doorbell") == 17
    assert vcd.gpio_of_name("bcm_4") == 4
    assert vcd.gpio_of_name("D0") is None


def test_a_replay_can_be_stopped():
    text = _stimulus("GPIO22", [(10, 0), (5000, 1)])
    replay = vcd.replay_vcd(text, wait=False)
    poll(lambda: len(replay.applied) >= 2, message="the first two changes")
    replay.stop()
    assert replay.done and not replay.wait(0)
    assert len(replay.applied) == 2


# -- a replay lets go of what it drove -------------------------------------------------------


def test_a_replay_gives_back_the_drive_it_found():
    """The doorbell of issue 13: after a replay the button's next press decides the pin again,
    instead of a pin left driven at the file's last level."""
    RPIO.setup(22, RPIO.IN, pull_up_down=RPIO.PUD_UP)
    bell = RPIO.sim.Button("doorbell", 22)
    RPIO.sim.drive(23, 1)  # driven from outside before the replay: given back as it was
    text = _stimulus("GPIO22", [(1, 0), (2, 1), (3, 0)]).replace(
        "$var wire 1 ! GPIO22 $end", "$var wire 1 ! GPIO22 $end\n$var wire 1 # GPIO23 $end")
    text = text.replace("#3000\n0!", "#3000\n0!\n0#")
    replay = vcd.replay_vcd(text, scale=0)
    assert replay.restored == [(22, None), (23, 1)]
    assert RPIO.sim.chip().pin_state(22).drive is None
    assert RPIO.sim.chip().pin_state(23).drive == 1
    assert RPIO.sim.level(22) == 1  # the pull-up decides again
    bell.press()
    assert RPIO.sim.level(22) == 0 and not RPIO.sim.shorted()
    bell.release()
    assert RPIO.sim.level(22) == 1


def test_hold_keeps_the_last_levels_and_stop_lets_go():
    RPIO.setup(22, RPIO.IN, pull_up_down=RPIO.PUD_UP)
    held = vcd.replay_vcd(_stimulus("GPIO22", [(1, 0)]), scale=0, hold=True)
    assert held.restored == [] and RPIO.sim.chip().pin_state(22).drive == 0
    RPIO.sim.release(22)
    replay = vcd.replay_vcd(_stimulus("GPIO22", [(10, 0), (50000, 1)]), wait=False)
    poll(lambda: len(replay.applied) >= 2, message="the first two changes")
    replay.stop()
    assert replay.restored == [(22, None)] and RPIO.sim.level(22) == 1


def test_a_gtkwave_save_file_goes_beside_each_recorded_vcd(tmp_path):
    """GTKWave opens a VCD with an empty wave pane; the save file beside it lists the signals."""
    path = _recorded_file(tmp_path)
    save = tmp_path / "board.gtkw"
    assert save.exists()
    lines = save.read_text().splitlines()
    assert f'[dumpfile] "{path}"' in lines
    shown = [line for line in lines if line and not line.startswith(("[", "@", "*"))]
    trace = vcd.read_vcd(path)
    assert shown == [signal.path for signal in trace.signals] == [
        "rpio.GPIO17", "rpio.GPIO22", "rpio.GPIO27"]
    summary = vcd.export_vcd(tmp_path / "history.vcd")
    assert summary.save_file == str(tmp_path / "history.gtkw")
    assert vcd.gtkw_path("a/b.VCD") == "a/b.gtkw" and vcd.gtkw_path("trace") == "trace.gtkw"
    buffer = io.StringIO()
    assert vcd.write_vcd(buffer, [(0, 4, 1)]).save_file is None  # a stream: nothing beside it
