package kafka_test

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func kmsgDescribe(group string) *kmsg.DescribeGroupsRequest {
	req := kmsg.NewPtrDescribeGroupsRequest()
	req.Groups = []string{group}
	return req
}

func committedOffset(t *testing.T, cl *kgo.Client, group, topic string, partition int32) int64 {
	t.Helper()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = group // versions before 8
	rt := kmsg.NewOffsetFetchRequestTopic()
	rt.Topic = topic
	rt.Partitions = []int32{partition}
	req.Topics = append(req.Topics, rt)
	g := kmsg.NewOffsetFetchRequestGroup() // versions 8 and later
	g.Group = group
	gt := kmsg.NewOffsetFetchRequestGroupTopic()
	gt.Topic = topic
	gt.Partitions = []int32{partition}
	g.Topics = append(g.Topics, gt)
	req.Groups = append(req.Groups, g)
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil {
		return -1
	}
	for _, rt := range resp.Topics {
		for _, p := range rt.Partitions {
			if rt.Topic == topic && p.Partition == partition {
				return p.Offset
			}
		}
	}
	for _, g := range resp.Groups {
		for _, rt := range g.Topics {
			for _, p := range rt.Partitions {
				if rt.Topic == topic && p.Partition == partition {
					return p.Offset
				}
			}
		}
	}
	return -1
}
