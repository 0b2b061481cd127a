// The package's own folder, whether running from src/ (tests, tsx) or dist/: its scripts and
// assets (the shim client copied into droplets, the S3 server build script) live beside them.
import path from 'node:path';

export const PACKAGE_ROOT = path.resolve(__dirname, '..');
