// Which clouds the process has credentials for. With no DigitalOcean token, the local cloud is used.

export function configuredProviders(env: NodeJS.ProcessEnv = process.env): string[] {
  const providers = [env.DIGITALOCEAN_TOKEN ? 'digitalocean' : 'localcloud'];
  if (env.LINODE_TOKEN) providers.push('linode');
  return providers;
}
