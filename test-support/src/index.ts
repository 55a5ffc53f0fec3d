export {
  abandonRequest,
  deferred,
  expectSameResponses,
  send,
  sendExpectingFailure,
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
