// `opsflow codec-server`: serves the worker's payload codec to the Web UI and the `temporal` CLI.
// It needs the same keys as the worker (OPSFLOW_CODEC_KEY_FILE or OPSFLOW_CODEC_KEYS) and a token
// (OPSFLOW_CODEC_SERVER_TOKEN or --token-file); neither is ever printed.
import type { Command } from 'commander';
import { EncryptionCodec } from '../temporal/codec/encryption-codec';
import { codecKeysFromEnv, readOwnerOnlyFile } from '../temporal/codec/keys';
import { createCodecServer, DEFAULT_UI_ORIGINS } from './codec-server';

interface CodecServerFlags {
  ip: string;
  port: number;
  origin: string[];
  tokenFile?: string;
}

function codecServerToken(flags: CodecServerFlags, env: NodeJS.ProcessEnv): string {
  const token = flags.tokenFile ? readOwnerOnlyFile(flags.tokenFile, '--token-file').trim() : env.OPSFLOW_CODEC_SERVER_TOKEN?.trim();
  if (!token) throw new Error('the codec server needs a token: set OPSFLOW_CODEC_SERVER_TOKEN or pass --token-file (a 0600 file)');
  if (token.length < 16) throw new Error('the codec server token must be at least 16 characters (openssl rand -base64 24)');
  return token;
}

export function registerCodecServerCommand(program: Command, port: (value: string) => number): void {
  program
    .command('codec-server')
    .description("decode encrypted payloads for the Web UI and the temporal CLI (--codec-endpoint); needs the worker's keys and a token")
    .option('--ip <address>', 'address to bind', '127.0.0.1')
    .option('--port <port>', 'port to listen on', port, 8888)
    .option(
      '--origin <url>',
      `a Web UI origin allowed to call it; repeat for more (default: ${DEFAULT_UI_ORIGINS.join(', ')})`,
      (value: string, list: string[]) => [...list, value],
      [] as string[],
    )
    .option('--token-file <path>', 'a 0600 file holding the bearer token (else OPSFLOW_CODEC_SERVER_TOKEN)')
    .action(async (flags: CodecServerFlags) => {
      const keys = codecKeysFromEnv(process.env);
      if (!keys) throw new Error('no payload encryption keys: set OPSFLOW_CODEC_KEY_FILE or OPSFLOW_CODEC_KEYS as for the worker');
      const server = createCodecServer({
        codec: new EncryptionCodec(keys),
        token: codecServerToken(flags, process.env),
        origins: flags.origin.length > 0 ? flags.origin : DEFAULT_UI_ORIGINS,
      });
      await new Promise<void>((resolve, reject) => server.once('error', reject).listen(flags.port, flags.ip, resolve));
      console.log(
        `Codec server on http://${flags.ip}:${flags.port} (keys: ${[...keys.keys.keys()].join(', ')}; encrypts with ${keys.encryptWith}); Ctrl-C stops it.`,
      );
      await new Promise<void>((resolve) => process.once('SIGINT', () => server.close(() => resolve())));
    });
}
