// The `workerd` npm package ships no types; its default export is the binary's path.
declare module 'workerd' {
  const workerd: { default: string; version: string; compatibilityDate: string };
  export default workerd;
}
