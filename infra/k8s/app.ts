// The cdk8s App holding every chart of one deployment: the platform, its runtime pools and the
// guard rails of each tenant. Pulumi, CDK and `npm run synth` all build their manifests here.
import { App, YamlOutputType } from 'cdk8s';
import { PlatformChart, type PlatformChartProps } from './platform-chart';
import { RuntimePoolChart, type RuntimePoolChartProps } from './runtime-pool-chart';
import { TenantChart, type TenantChartProps } from './tenant-chart';

export interface CairnAppProps {
  version: string;
  bundleSha256: string;
  registry: string;
  /** Where `synth()` writes the YAML, one file per chart. @default dist/k8s (cdk8s: relative to the working directory) */
  outdir?: string;
  /** Settings of the platform chart beyond the shared ones. @default PlatformChart's defaults */
  platform?: Omit<PlatformChartProps, 'version' | 'bundleSha256' | 'registry'>;
  /** Settings of the runtime pools beyond the shared ones. @default RuntimePoolChart's defaults */
  runtimePools?: Omit<RuntimePoolChartProps, 'version' | 'bundleSha256' | 'registry' | 'namespace' | 'platformNamespace'>;
  /** One guard-rails chart per tenant. @default none */
  tenants?: Omit<TenantChartProps, 'version'>[];
}

export interface CairnApp {
  app: App;
  platform: PlatformChart;
  runtimePools: RuntimePoolChart;
  tenants: TenantChart[];
}

export function createCairnApp(props: CairnAppProps): CairnApp {
  const app = new App({ outdir: props.outdir ?? 'dist/k8s', yamlOutputType: YamlOutputType.FILE_PER_CHART, outputFileExtension: '.yaml' });
  const shared = { version: props.version, bundleSha256: props.bundleSha256, registry: props.registry };
  const platform = new PlatformChart(app, 'platform', { ...shared, ...props.platform });
  const runtimePools = new RuntimePoolChart(app, 'runtime-pools', {
    ...shared,
    ...props.runtimePools,
    namespace: platform.runtimeNamespace,
    platformNamespace: platform.platformNamespace,
  });
  // The executor's Role lives in the runtime namespace: create that namespace first.
  platform.addDependency(runtimePools);
  const tenants = (props.tenants ?? []).map((t) => new TenantChart(app, `tenant-${t.tenant}`, { ...t, version: props.version }));
  return { app, platform, runtimePools, tenants };
}
