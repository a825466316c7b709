package app

import (
	"fmt"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/amqp"
	"github.com/dataaggregator/aggregator/internal/connector/files/csv"
	"github.com/dataaggregator/aggregator/internal/connector/files/excel"
	"github.com/dataaggregator/aggregator/internal/connector/files/json"
	"github.com/dataaggregator/aggregator/internal/connector/files/ndjson"
	"github.com/dataaggregator/aggregator/internal/connector/files/parquet"
	"github.com/dataaggregator/aggregator/internal/connector/files/xml"
	"github.com/dataaggregator/aggregator/internal/connector/hubspot"
	"github.com/dataaggregator/aggregator/internal/connector/kafka"
	"github.com/dataaggregator/aggregator/internal/connector/mqtt"
	"github.com/dataaggregator/aggregator/internal/connector/mysql"
	"github.com/dataaggregator/aggregator/internal/connector/natsjs"
	"github.com/dataaggregator/aggregator/internal/connector/postgres"
	"github.com/dataaggregator/aggregator/internal/connector/postgrescdc"
	"github.com/dataaggregator/aggregator/internal/connector/rest"
	"github.com/dataaggregator/aggregator/internal/connector/salesforce"
	"github.com/dataaggregator/aggregator/internal/connector/sqlserver"
	"github.com/dataaggregator/aggregator/internal/transform"
)

// Registries builds the connector and transformation registries with every connector and
// transformation the product offers. Adding a connector is one line here.
func Registries() (*connector.Registry, *transform.Registry, error) {
	conns, err := connector.NewRegistry(
		csv.New(),
		csv.NewTSV(),
		json.New(),
		ndjson.New(),
		xml.New(),
		excel.New(),
		parquet.New(),
		postgres.New(),
		mysql.New(),
		sqlserver.New(),
		kafka.New(),
		rest.New(),
		natsjs.New(),
		amqp.New(),
		postgrescdc.New(),
		mqtt.New(),
		hubspot.New(),
		salesforce.New(),
	)
	if err != nil {
		return nil, nil, fmt.Errorf("connector registry: %w", err)
	}
	trs, err := transform.NewRegistry(transform.Builtins()...)
	if err != nil {
		return nil, nil, fmt.Errorf("transformation registry: %w", err)
	}
	return conns, trs, nil
}
