/**
 * Starts a worker thread on a module beside the caller: the compiled `.js` when the caller
 * runs compiled; run from sources (`.ts`, through tsx: tests, `bench/`), the worker registers
 * tsx itself before loading its module, as Node 20 does not pass the loader to workers.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** `name`: the module's file name without extension, in the folder of `callerUrl` (`import.meta.url`). */
export function startWorker(callerUrl: string, name: string, options: Omit<WorkerOptions, 'eval'> = {}): Worker {
  if (!callerUrl.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, callerUrl), options);
  const api = import.meta.resolve('tsx/esm/api');
  const entry = new URL(`./${name}.ts`, callerUrl).href;
  const code = `import(${JSON.stringify(api)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(code, { ...options, eval: true });
}
