// The npm aliases used to test both majors side by side; typed with the installed fastify (5).
declare module 'fastify4' {
  import fastify from 'fastify';
  export default fastify;
}
declare module 'fastify5' {
  import fastify from 'fastify';
  export default fastify;
}
