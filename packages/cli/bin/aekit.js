#!/usr/bin/env node
// A committed shim so package managers can link the `aekit` bin before `tsc -b` has built dist/.
import '../dist/bin.js';
