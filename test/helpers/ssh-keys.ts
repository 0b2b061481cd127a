// SSH key pairs for tests: the same well-formed generator the local cloud uses for host keys.
export { generateEd25519 } from '@opsflow/localcloud';
