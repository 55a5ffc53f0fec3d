#!/usr/bin/env node
// The `spectator-atlas-dev` command. A committed file rather than a path into dist/, so that
// `pnpm install` in a fresh clone (before anything is built) can link the bin without warnings.
import '../dist/cli.mjs';
