export {
  abandonRequest,
  deferred,
  expectSameResponses,
  send,
  sendExpectingFailure,
  sendRaw,
  serve,
  type Running,
} from './http.js';
export { atlasValue, MetricsHarness } from './metrics-harness.js';
export {
  describeMiddlewareContract,
  fakeNodeRequest,
  FakeResponse,
  hostileResponse,
  unlistenableResponse,
  type ContractMiddleware,
  type FakeCall,
} from './middleware-contract.js';
export {
  describeServerContract,
  headerReader,
  type ContractServer,
  type ContractServerOptions,
  type ServedApp,
} from './server-contract.js';
export {
  importSideEffects,
  NO_LISTENERS,
  NO_SIDE_EFFECTS,
  type ImportSideEffects,
} from './import-side-effects.js';
