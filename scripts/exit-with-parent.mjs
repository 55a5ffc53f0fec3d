// Preloaded (`node --import`) into the example app that `npm run demo` starts, so that the app
// ends when the demo does, however the demo ends: Ctrl-C, a closed terminal (SIGHUP), SIGKILL
// or a crash. The demo starts the app with an IPC channel; the operating system closes the
// channel when the demo's process is gone, whatever killed it, and the app then stops as it
// does on SIGTERM: the global registry publishes the last interval, then the process exits.
if (process.channel !== undefined) {
  process.channel.unref(); // the channel alone must not keep the app alive
  process.once('disconnect', () => {
    // Nobody reads the app's output any more: never die of EPIPE before the final flush.
    for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
    process.kill(process.pid, 'SIGTERM');
  });
}
