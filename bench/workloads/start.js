// START: nothing at all, so a run is the profiler's start and exit alone (the cost of `node -e 0`
// with the profiler, which every process pays when the profiler is in NODE_OPTIONS).
'use strict';
