// Reading and writing Pulumi stack files (Pulumi.<stack>.yaml) and other YAML of the repository
// in-process. The parser is the `yaml` package cdk8s bundles (a bundled dependency, so it is
// there wherever cdk8s is); cdk8s's own `Yaml.load` would start a node process per file.
import * as fs from 'node:fs';

interface YamlModule {
  parse(text: string): unknown;
  stringify(value: unknown, options?: { lineWidth?: number }): string;
}

let loaded: YamlModule | undefined;
function yaml(): YamlModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  loaded ??= require(require.resolve('yaml', { paths: [require.resolve('cdk8s')] })) as YamlModule;
  return loaded;
}

/** One YAML document, parsed; a syntax error names the file. */
export function readYamlFile(file: string): unknown {
  try {
    return yaml().parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`);
  }
}

export function toYaml(value: unknown): string {
  return yaml().stringify(value, { lineWidth: 0 });
}
