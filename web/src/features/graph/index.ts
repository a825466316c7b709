// The pipeline graph module: spec <-> React Flow, auto-layout, cycle and edge rules, the read-only graph.
export * from './spec'
export * from './flow'
export { layout } from './layout'
export { PipelineGraph, useDark, type EdgeLabel, type PipelineGraphProps } from './PipelineGraph'
export { PipelineNode, nodeTypes, kindStyle } from './PipelineNode'
