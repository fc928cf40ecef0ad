// Node built-ins for the runtime, taken with process.getBuiltinModule (Node >= 22.3) rather than
// `import`: static imports of built-ins go through the ESM loader, which costs measurable time on
// every cold start. Older Node 22 releases fall back to dynamic import.
const load = (name) => process.getBuiltinModule?.(name) ?? import(name);

export const [fs, module, net, path, url, util] = await Promise.all(
  ['node:fs', 'node:module', 'node:net', 'node:path', 'node:url', 'node:util'].map(load),
);
