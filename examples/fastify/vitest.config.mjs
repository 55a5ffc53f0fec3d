export { default } from '@spectator/example-shared/vitest.config';
