"""Item 4: scale and cost. The daemon over 64 buses x 32 simulated meters, to SQLite.

The real ``Daemon`` (spool, dispatcher, sqlite sink, metrics, HTTP off) runs in a
child process of its own (``python -m bench.scale --child``), so its CPU time and
peak RSS are the daemon's alone. Each bus is an in-process simulated line
(``sim:///.../bus-NN.yaml?time_scale=X``) of 32 ``lg-zmd`` meters (mode C, 300 Bd
sign-on, 9600 Bd readout, tr 200 ms, 20 registers), with addresses unique across
buses so that no idempotency key is shared between two buses.

Cycles are driven, not scheduled: once the daemon is ready its scheduler is stopped
and each cycle is ``submit_all()`` on every bus's engine at once, awaited to the
last final batch. That is exactly a scheduled slot's work (the scheduler does the
same ``submit``), minus the idle time between slots that a schedule would add, so a
fixed number of cycles is a fixed amount of work. After the last cycle the child
waits until the sqlite sink's cursor has reached the end of the spool.

Measured in the child, from just before the first cycle to the sink drained:

* CPU per reading: process CPU time (user + system, every thread: the loop, the
  spool's and the sink's SQLite threads) / readings in the sink's table;
* readings/s: readings in the sink's table / wall time;
* peak RSS: ``VmHWM`` of the child at the end (its whole life);
* failed reads (final batches with an error) and failed sessions (retries included),
  and the longest the event loop was late on a 20 ms tick.

Setups, each in a fresh child:

* ``100x`` (the issue's setup, the headline, repeated): ``time_scale`` 0.01 makes the
  meter's tr 2 ms and the option-select window 15-22 ms of real time, with 64 buses
  on one loop. The daemon's ``SessionGate`` starts a session only while the loop
  keeps time, so the buses take turns instead of all missing their windows; failed
  sessions and "short readouts" (a readout accepted without the bytes that came
  before our baud switch: fewer data sets than the meter has) show whether it did.
* ``20x``: the same at ``time_scale`` 0.05.
* ``simulated``: ``clock=manual``, each bus's time jumps to what it waits for, so
  every timing relation is exact whatever the load.
* ``simulated, per byte``: as ``simulated`` with ``rx_latency`` 0, the simulator
  waking the client for every character (a UART with a one-byte FIFO): the most
  wake-ups a port could cause, the worst case for the CPU figure.

The other setups use ``rx_latency`` ``RX_LATENCY`` (16 ms of simulated time): while a
meter talks the client is woken at most that often, and at once when the line falls
quiet, as a USB adapter's latency timer (16 ms by default on FTDI chips) hands over
what it holds. The profile below says how much of the process's CPU the in-process
simulator itself takes.

The roles: ``_setup`` (the setups and the configuration a child runs), ``_measure``
(the measurement inside the child), ``_child`` (starting a child and reading its
result), ``_profile`` (the cProfile split), ``_report`` (the table), ``_suite``
(every setup in turn, and the command line).
"""

from ._report import table
from ._setup import HEADLINE, SETUPS
from ._suite import main, run

__all__ = ["HEADLINE", "SETUPS", "main", "run", "table"]
