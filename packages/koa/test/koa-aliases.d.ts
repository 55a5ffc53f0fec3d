// The npm aliases used to test both majors side by side; typed with the installed @types/koa.
declare module 'koa2' {
  import Koa from 'koa';
  export default Koa;
}
declare module 'koa3' {
  import Koa from 'koa';
  export default Koa;
}
