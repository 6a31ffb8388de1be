// cytoscape-fcose ships no types: it is a cytoscape extension (cytoscape.use(fcose)).
declare module 'cytoscape-fcose' {
  import type { Ext } from 'cytoscape';
  const fcose: Ext;
  export default fcose;
}
