// Checks of chart props shared by the charts. Each adds a message naming the prop and what it
// takes to the list; checkProblems throws one error holding them all.

export function checkDnsLabel(problems: string[], prop: string, value: string): void {
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(value)) problems.push(`${prop} "${value}": expected a DNS label (lower-case letters, digits and '-', at most 63)`);
}

export function checkVersion(problems: string[], prop: string, value: string): void {
  // The version is an image tag and a label value: both allow at most 63 of [A-Za-z0-9_.-].
  if (!/^[0-9A-Za-z][0-9A-Za-z_.-]{0,62}$/.test(value) || value === 'latest') problems.push(`${prop} "${value}": expected the platform version (package.json), e.g. 1.2.3`);
}

export function checkBundleSha256(problems: string[], prop: string, value: string): void {
  if (!/^[0-9a-f]{64}$/.test(value)) problems.push(`${prop} "${value}": expected the 64-hex bundleSha256 of dist/manifest.json (run \`npm run build\`)`);
}

export function checkProblems(component: string, problems: string[]): void {
  if (problems.length) throw new Error(`${component}: invalid props:\n  - ${problems.join('\n  - ')}`);
}
