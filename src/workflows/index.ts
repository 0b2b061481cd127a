// Every workflow the opsflow worker runs. The worker bundles this file.
export { checkWorker } from './check-worker';
export { provisionEnvironment } from './provision-environment';
export { destroyEnvironment } from './destroy-environment';
