// Preloaded into a benchmarked CLI process (`node --import <this file> …`): at exit, writes the
// process's CPU seconds (every thread: workers and onnxruntime's included) as JSON to the file
// named by AEKIT_BENCH_CPU_FILE, so a bench can say how many cores a command kept busy.
import { writeFileSync } from 'node:fs';

const file = process.env.AEKIT_BENCH_CPU_FILE;
if (file) {
  process.on('exit', () => {
    const c = process.cpuUsage();
    writeFileSync(file, JSON.stringify({ cpuSeconds: (c.user + c.system) / 1e6 }));
  });
}
