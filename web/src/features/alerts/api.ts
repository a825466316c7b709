// Alerts over the API: alerts (with history and deliveries), acknowledge and silence, rules and
// channels (secrets come back as ********, and sending ******** back keeps them), a channel's test.
import { useQuery } from '@tanstack/react-query'
import { api, unwrap, type Schemas } from '@/api/client'

export type Alert = Schemas['Alert']
export type AlertDetail = Schemas['AlertDetail']
export type AlertRule = Schemas['AlertRule']
export type AlertChannel = Schemas['AlertChannel']
export type AlertDelivery = Schemas['AlertDelivery']
export type ConditionType = Schemas['AlertCondition']['type']
export type ChannelType = AlertChannel['type']

export const alertKeys = {
  all: ['alerts'] as const,
  list: (state: string, page: number) => ['alerts', 'list', state, page] as const,
  detail: (id: string) => ['alerts', 'detail', id] as const,
  rules: ['alerts', 'rules'] as const,
  channels: ['alerts', 'channels'] as const,
}

export const ALERTS_PER_PAGE = 25

/** Alerts in a state ('' for all), newest first, refreshed every five seconds. */
export function useAlerts(state: '' | 'firing' | 'resolved', page: number) {
  return useQuery({
    queryKey: alertKeys.list(state, page),
    refetchInterval: 5000,
    queryFn: ({ signal }) =>
      unwrap(api.GET('/api/v1/alerts', { params: { query: { state: state || undefined, page, per_page: ALERTS_PER_PAGE } }, signal })),
  })
}

export function useAlert(id: string) {
  return useQuery({
    queryKey: alertKeys.detail(id),
    refetchInterval: 5000,
    queryFn: ({ signal }) => unwrap(api.GET('/api/v1/alerts/{id}', { params: { path: { id } }, signal })),
  })
}

export function useRules() {
  return useQuery({ queryKey: alertKeys.rules, queryFn: ({ signal }) => unwrap(api.GET('/api/v1/alerts/rules', { signal })) })
}

export function useChannels() {
  return useQuery({ queryKey: alertKeys.channels, queryFn: ({ signal }) => unwrap(api.GET('/api/v1/alerts/channels', { signal })) })
}

export function acknowledge(id: string) {
  return unwrap(api.POST('/api/v1/alerts/{id}/ack', { params: { path: { id } } }))
}

export function silence(id: string, minutes: number) {
  return unwrap(api.POST('/api/v1/alerts/{id}/silence', { params: { path: { id } }, body: { minutes } }))
}

export type RuleBody = Schemas['AlertRuleBody']
export type ChannelBody = Schemas['AlertChannelBody']

export function saveRule(id: string | null, body: RuleBody) {
  return id
    ? unwrap(api.PUT('/api/v1/alerts/rules/{id}', { params: { path: { id } }, body }))
    : unwrap(api.POST('/api/v1/alerts/rules', { body }))
}

export function deleteRule(id: string) {
  return unwrap(api.DELETE('/api/v1/alerts/rules/{id}', { params: { path: { id } } }))
}

export function saveChannel(id: string | null, body: ChannelBody) {
  return id
    ? unwrap(api.PUT('/api/v1/alerts/channels/{id}', { params: { path: { id } }, body }))
    : unwrap(api.POST('/api/v1/alerts/channels', { body }))
}

export function deleteChannel(id: string) {
  return unwrap(api.DELETE('/api/v1/alerts/channels/{id}', { params: { path: { id } } }))
}

export function testChannel(id: string) {
  return unwrap(api.POST('/api/v1/alerts/channels/{id}/test', { params: { path: { id } } }))
}
